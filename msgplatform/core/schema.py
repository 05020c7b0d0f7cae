"""The OpenAPI schema class of the API: drf-spectacular's, plus the answers every operation with a body can give."""

from __future__ import annotations

import copy

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

PROBLEM_MEDIA_TYPE = "application/problem+json"
BODY_TOO_LARGE = "The request body is over API_MAX_BODY_BYTES, refused before it is read (code payload_too_large)"


class AutoSchema(SpectacularAutoSchema):
    """Every operation that takes a body may answer 413 payload_too_large (msgplatform.core.parsers): documented
    here once rather than on each view. An operation that documents its own 413 keeps it."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if not operation or "requestBody" not in operation:
            return operation
        responses = operation.setdefault("responses", {})
        # The problem schema of the operation's other refusals (every authenticated operation has a 401).
        problem = next((r for r in responses.values() if PROBLEM_MEDIA_TYPE in r.get("content", {})), None)
        if "413" not in responses and problem is not None:
            responses["413"] = {"content": copy.deepcopy(problem["content"]), "description": BODY_TOO_LARGE}
            operation["responses"] = dict(sorted(responses.items()))
        return operation

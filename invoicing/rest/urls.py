"""REST API v1 of the invoicing plugin, mounted under /api/v1/ (every view licence-checked by its permission)."""

app_name = "invoicing-api"

urlpatterns: list = []

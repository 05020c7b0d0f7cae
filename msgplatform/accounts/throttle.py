"""Login throttling: after 5 failed attempts for one username or address within 15 minutes, refuse for a while."""

from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.shortcuts import render

LIMIT = 5
WINDOW_SECONDS = 15 * 60


def _keys(request):
    username = (request.POST.get("username") or "").lower()[:150]
    return [f"login-fail:u:{username}", f"login-fail:ip:{request.META.get('REMOTE_ADDR', '')}"]


def throttled_login(request, *args, **kwargs):
    if request.method == "POST":
        keys = _keys(request)
        if any((cache.get(k) or 0) >= LIMIT for k in keys):
            return render(request, "registration/throttled.html", {"minutes": WINDOW_SECONDS // 60}, status=429)
    response = auth_views.LoginView.as_view()(request, *args, **kwargs)
    if request.method == "POST":
        if request.user.is_authenticated:
            cache.delete_many(_keys(request))
        else:
            for key in _keys(request):
                cache.add(key, 0, WINDOW_SECONDS)
                cache.incr(key)
    return response

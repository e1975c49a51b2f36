"""Response headers Django does not set itself: Permissions-Policy, and no-store on every dynamic answer."""

from django.conf import settings
from django.utils.cache import patch_cache_control


class PermissionsPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class NoStoreMiddleware:
    """`Cache-Control: no-store, private` on every response the portal computes (pages, JSON, FHIR, files):
    personal or medical data must stay out of browser and proxy caches (a shared ward computer, a
    proxy). Static files are answered before this (WhiteNoise, runserver) and keep their own caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        patch_cache_control(response, no_store=True, private=True)
        return response

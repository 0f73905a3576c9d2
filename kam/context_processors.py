from django.conf import settings
from django.http import HttpRequest

from kam.navigation import nav_for


def navigation(request: HttpRequest) -> dict[str, object]:
    return {
        "nav_items": nav_for(request) if hasattr(request, "user") else [],
        "kam_version": settings.KAM_VERSION,
    }

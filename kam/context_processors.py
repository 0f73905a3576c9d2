from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from kam.navigation import nav_for
from kam.selectors import unread_notification_count


def navigation(request: HttpRequest) -> dict[str, object]:
    return {
        "nav_items": nav_for(request) if hasattr(request, "user") else [],
        "kam_version": settings.KAM_VERSION,
        # Counted only when a template shows it (the header does, for signed-in users).
        "unread_notifications": SimpleLazyObject(
            lambda: unread_notification_count(user=request.user)
        )
        if hasattr(request, "user")
        else 0,
    }

"""The app's URLs plus a view that fails like a bug, to tell a 500 from an outage."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from kam.urls import handler500
from kam.urls import urlpatterns as app_urlpatterns


def broken(request: HttpRequest) -> HttpResponse:
    raise ZeroDivisionError


urlpatterns = [path("broken/", broken), *app_urlpatterns]
__all__ = ["handler500", "urlpatterns"]

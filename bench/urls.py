"""The production URLconf plus one bench-only floor: a hello-world JSON view behind the same middleware."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from marketplace.urls import handler400, handler404, handler500
from marketplace.urls import urlpatterns as production

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"hello": "world"})


urlpatterns = [path("bench/hello/", hello, name="bench-hello"), *production]

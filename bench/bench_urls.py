"""URLconf of the webhook bench (bench/webhooks.py): the product's URLs plus one bare view.

The bare view is the reference: the same server, middleware and request body as a
webhook, and a constant TwiML answer with no database work and no signature check.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from supportcenter.urls import handler404, urlpatterns as product_urlpatterns  # noqa: F401

BARE_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Say>Hi</Say></Response>'


@csrf_exempt
@require_POST
def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BARE_TWIML, content_type="text/xml")


urlpatterns = [path("bench/bare-twiml/", bare, name="bench_bare_twiml"), *product_urlpatterns]

"""WSGI entry point: plain HTTP only (pages, API, telephony webhooks), e.g. for
``gunicorn supportcenter.wsgi:application``. WebSockets need the ASGI one (supportcenter.asgi)."""
from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportcenter.settings")
application = get_wsgi_application()

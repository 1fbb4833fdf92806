"""Pages and API routes of this app (included at the site root by supportcenter.urls)."""
from __future__ import annotations

urlpatterns: list = []

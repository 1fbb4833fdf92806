"""Talk's REST API, one module per resource, all routed from talk/urls.py (SPEC A1).

Thin views: parse with an input serializer, call a service, answer with an output
serializer. Refusals are ServiceErrors → 422 (supportcenter.api_errors).
"""

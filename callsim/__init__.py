"""The call simulator (SPEC O1): the demo's carrier, playing Twilio against talk's webhooks.

engine.py is the provider (signed webhooks in, TwiML interpreted); runner.py drives
calls for the page (views.py) and ``manage.py simulate_call``; gateway.py is talk's
outbound carrier for accounts whose provider is the simulator (named by
``settings.TALK_SIMULATOR_GATEWAY``). This app builds on talk; talk never imports it.
"""

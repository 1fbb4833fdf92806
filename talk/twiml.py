"""The TwiML the caller hears: one builder per prompt (DESIGN rule 8).

Every document is valid for the context it is played in (SPEC C11): answers to
the queue's wait URL (and to Gathers started there) use only Play, Say, Pause,
Hangup, Redirect, Leave and Gather; answers in the call itself may Enqueue and Record.
Builders take greetings already chosen and URLs already made; they read nothing.
"""
from __future__ import annotations

from twilio.twiml.voice_response import Gather, VoiceResponse

from talk.models import Greeting
from talk.voices import say_language, default_voice

# Apologies work without the database: they answer when everything else failed.
APOLOGY = {
    "en": "We are sorry, we cannot take your call right now. Please try again later. Goodbye.",
    "ja": "申し訳ございません。ただいまお電話をお受けできません。時間をおいておかけ直しください。",
    "de": "Es tut uns leid, wir können Ihren Anruf gerade nicht annehmen. Bitte versuchen Sie es später noch einmal.",
    "fr": "Nous sommes désolés, nous ne pouvons pas prendre votre appel. Merci de rappeler plus tard.",
    "es": "Lo sentimos, no podemos atender su llamada en este momento. Por favor, inténtelo más tarde.",
}

GREETING_GATHER_TIMEOUT = 1  # after the callback message, then on into the queue
HOLD_GATHER_TIMEOUT = 5
MENU_TIMEOUT = 6
NUMBER_TIMEOUT = 12
HOLD_PAUSE_SECONDS = 10


def _speak(node: VoiceResponse | Gather, greeting: Greeting | None, **fill: str) -> None:
    if greeting is None:
        return
    if greeting.audio_url:
        node.play(greeting.audio_url)
        return
    text = greeting.text
    for name, value in fill.items():
        text = text.replace("{" + name + "}", value)
    node.say(text, language=say_language(greeting.language), voice=greeting.voice or default_voice(greeting.language))


def _doc(response: VoiceResponse) -> str:
    return str(response)


def empty() -> str:
    return _doc(VoiceResponse())


def apology(language: str = "en") -> str:
    response = VoiceResponse()
    response.say(APOLOGY.get(language, APOLOGY["en"]), language=say_language(language))
    response.hangup()
    return _doc(response)


def _enqueue(response: VoiceResponse, *, queue: str, wait_url: str, exit_url: str) -> None:
    response.enqueue(queue, wait_url=wait_url, wait_url_method="POST", action=exit_url, method="POST")


def incoming(
    *, welcome: Greeting | None, callback_message: Greeting | None, key: str, key_url: str,
    queue: str, wait_url: str, exit_url: str,
) -> str:
    """Welcome, then (C2 permitting) the callback message listening for the key, then the queue (C1)."""
    response = VoiceResponse()
    _speak(response, welcome)
    if callback_message is not None:
        gather = response.gather(num_digits=1, action=key_url, method="POST", timeout=GREETING_GATHER_TIMEOUT)
        _speak(gather, callback_message, key=key)
    _enqueue(response, queue=queue, wait_url=wait_url, exit_url=exit_url)
    return _doc(response)


def join_queue(*, queue: str, wait_url: str, exit_url: str) -> str:
    response = VoiceResponse()
    _enqueue(response, queue=queue, wait_url=wait_url, exit_url=exit_url)
    return _doc(response)


POSITION_TEXT = {
    "en": "You are number {position} in line.",
    "ja": "ただいま{position}番目にお待ちいただいています。",
    "de": "Sie sind an Position {position} in der Warteschlange.",
    "fr": "Vous êtes en position {position} dans la file d'attente.",
    "es": "Usted es el número {position} en la fila.",
}
WAIT_TEXT = {
    "en": "The estimated wait is about {minutes} minutes.",
    "ja": "お待ちいただく時間は約{minutes}分です。",
    "de": "Die geschätzte Wartezeit beträgt etwa {minutes} Minuten.",
    "fr": "Le temps d'attente estimé est d'environ {minutes} minutes.",
    "es": "El tiempo de espera estimado es de unos {minutes} minutos.",
}


def _announce(response: VoiceResponse, language: str, position: int | None, wait_minutes: int | None) -> None:
    """C12: position and estimated wait, in the account's language (English without a voice)."""
    if position is None:
        return
    text = POSITION_TEXT.get(language, POSITION_TEXT["en"]).format(position=position)
    if wait_minutes is not None:
        text += " " + WAIT_TEXT.get(language, WAIT_TEXT["en"]).format(minutes=wait_minutes)
    response.say(text, language=say_language(language if language in POSITION_TEXT else "en"))


def hold_loop(
    *, hold: Greeting | None, callback_message: Greeting | None, key: str, key_url: str,
    language: str = "en", position: int | None = None, wait_minutes: int | None = None,
) -> str:
    """One turn of the wait document; Twilio plays it again when it ends (C3, C12)."""
    response = VoiceResponse()
    _announce(response, language, position, wait_minutes)
    if callback_message is not None:
        gather = response.gather(num_digits=1, action=key_url, method="POST", timeout=HOLD_GATHER_TIMEOUT)
        _speak(gather, hold)
        _speak(gather, callback_message, key=key)
    else:
        _speak(response, hold)
    response.pause(length=HOLD_PAUSE_SECONDS)
    return _doc(response)


def back_to_hold(*, wait_url: str) -> str:
    """In the wait context: continue the hold loop."""
    response = VoiceResponse()
    response.redirect(wait_url, method="POST")
    return _doc(response)


def menu(*, prompt: Greeting | None, action_url: str) -> str:
    """1 this number, 2 another number, 3 back to the queue (C3)."""
    return _ask(prompt, action_url=action_url, num_digits=1, timeout=MENU_TIMEOUT)


def number_entry(*, prompt: Greeting | None, invalid: Greeting | None, action_url: str) -> str:
    """Digits ended with # (C4); ``invalid`` first when the last try was not a number."""
    response = VoiceResponse()
    _speak(response, invalid)
    gather = response.gather(action=action_url, method="POST", finish_on_key="#", timeout=NUMBER_TIMEOUT)
    _speak(gather, prompt)
    response.redirect(action_url, method="POST")
    return _doc(response)


def confirm(*, readback: Greeting | None, number_words: str, confirmation: Greeting | None, action_url: str) -> str:
    """Read the number back (entered numbers), then ask for 1 to confirm (C4, C6)."""
    response = VoiceResponse()
    _speak(response, readback, number=number_words)
    gather = response.gather(num_digits=1, action=action_url, method="POST", timeout=MENU_TIMEOUT)
    _speak(gather, confirmation)
    response.redirect(action_url, method="POST")
    return _doc(response)


def goodbye(*, message: Greeting | None) -> str:
    """The last words of a call that leaves with a callback request (C6, C7)."""
    response = VoiceResponse()
    _speak(response, message)
    response.hangup()
    return _doc(response)


def _ask(prompt: Greeting | None, *, action_url: str, num_digits: int, timeout: int) -> str:
    response = VoiceResponse()
    gather = response.gather(num_digits=num_digits, action=action_url, method="POST", timeout=timeout)
    _speak(gather, prompt)
    # Silence: the same action without Digits, counted as one more try.
    response.redirect(action_url, method="POST")
    return _doc(response)


# --- A caller who already has a callback waiting (C13) ---------------------------
def _say_system(node: VoiceResponse | Gather, text: str, language: str) -> None:
    node.say(text, language=say_language(language), voice=default_voice(language))


def pending_menu(*, text: str, language: str, action_url: str) -> str:
    """1 keep it, 2 cancel it, 3 wait on the line now; played before the queue (call context)."""
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action=action_url, method="POST", timeout=MENU_TIMEOUT)
    _say_system(gather, text, language)
    # Silence: the same action without Digits, counted as one more try.
    response.redirect(action_url, method="POST")
    return _doc(response)


def pending_goodbye(*, text: str, language: str) -> str:
    """The last words after the caller kept or cancelled their waiting callback."""
    response = VoiceResponse()
    _say_system(response, text, language)
    response.hangup()
    return _doc(response)


# --- The caller's name and reason (C14) ---------------------------------------------
RECORD_MAX_SECONDS = 30
RECORD_SILENCE_SECONDS = 3
RECORD_PROMPT = {
    "en": "Before we call you back: after the tone, please say your name and the reason for your call. This message is recorded "
          "for the agent who calls you back. Press the pound key when you are done.",
    "ja": "折り返しの前に、発信音のあとに、お名前とご用件をお話しください。折り返しお電話する担当者のために録音されます。"
          "終わりましたらシャープを押してください。",
    "de": "Bevor wir Sie zurückrufen: Bitte nennen Sie nach dem Signalton Ihren Namen und Ihr Anliegen. Die Nachricht wird für den "
          "Mitarbeiter aufgezeichnet, der Sie zurückruft. Drücken Sie danach die Rautetaste.",
    "fr": "Avant que nous vous rappelions : après le bip, veuillez dire votre nom et le motif de votre appel. Ce message est enregistré pour "
          "la personne qui vous rappellera. Appuyez sur la touche dièse quand vous avez terminé.",
    "es": "Antes de devolverle la llamada: después del tono, diga su nombre y el motivo de su llamada. Este mensaje se graba para el agente "
          "que le devolverá la llamada. Pulse la tecla numeral cuando termine.",
}


def leave_queue() -> str:
    """In the wait context: leave the provider's queue; its Enqueue action answers next (C14)."""
    response = VoiceResponse()
    response.leave()
    return _doc(response)


def record_name(*, language: str, action_url: str, status_url: str, goodbye: Greeting | None) -> str:
    """Ask for the name and reason, record it, then the confirmation's goodbye (call context).

    The provider requests ``action_url`` when a recording was made (its answer ends the call)
    and goes on to the next verbs when nothing was said, so the goodbye follows here too.
    """
    response = VoiceResponse()
    _say_system(response, RECORD_PROMPT.get(language, RECORD_PROMPT["en"]), language if language in RECORD_PROMPT else "en")
    response.record(
        action=action_url, method="POST", max_length=RECORD_MAX_SECONDS, timeout=RECORD_SILENCE_SECONDS,
        finish_on_key="#", play_beep=True, trim="trim-silence",
        recording_status_callback=status_url, recording_status_callback_method="POST",
        recording_status_callback_event="completed absent",
    )
    _speak(response, goodbye)
    response.hangup()
    return _doc(response)


# --- The callback call (R5) and a live call's connection ------------------------
def callback_agent_leg(*, number: str, caller_id: str, action_url: str, ring_seconds: int) -> str:
    """What the agent hears when they answer their device: then the customer rings."""
    response = VoiceResponse()
    response.say(f"Calling back {', '.join(ch for ch in number if ch.isdigit())}.", language="en-US")
    dial = response.dial(caller_id=caller_id or None, action=action_url, method="POST", timeout=ring_seconds)
    dial.number(number)
    return _doc(response)


def callback_result(*, words: str) -> str:
    response = VoiceResponse()
    response.say(words, language="en-US")
    response.hangup()
    return _doc(response)


def connect_to_agent(*, device: str, ring_seconds: int) -> str:
    """A live caller leaves the queue for the agent who accepted (R5)."""
    response = VoiceResponse()
    dial = response.dial(timeout=ring_seconds)
    if device.startswith("sip:"):
        dial.sip(device)
    elif device.startswith("client:"):
        dial.client(device.removeprefix("client:"))
    else:
        dial.number(device)
    return _doc(response)

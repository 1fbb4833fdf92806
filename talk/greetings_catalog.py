"""System greetings: the texts every account starts with (SPEC L6).

Pure data, so the data migration can use it too. Each account gets one read-only
``Greeting`` row per (category, language) from this table (``is_system=True``),
kept in step by ``talk.services.system_greetings_sync``, so lines point at
greetings by foreign key whether they are the account's own or the defaults.

Placeholders, filled when the prompt is played (``talk.twiml``):
``{key}`` is the line's callback key (L7: configurable, "2" by default, so the
seed's "press 2" is what callers hear unless an admin changes the key);
``{number}`` is the number read back digit by digit (C4).
"""
from __future__ import annotations

# Category values; talk.models.Greeting.Category mirrors them.
WELCOME = "welcome"
HOLD = "hold"
CALLBACK = "callback"
CALLBACK_CONFIRMATION = "callback_confirmation"
VOICEMAIL = "voicemail"
CALLBACK_MENU = "callback_menu"
NUMBER_ENTRY = "number_entry"
NUMBER_READBACK = "number_readback"
NUMBER_INVALID = "number_invalid"
REQUEST_CONFIRMED = "request_confirmed"
ALREADY_WAITING = "already_waiting"
UNAVAILABLE = "unavailable"

CATEGORIES: list[tuple[str, str]] = [
    (WELCOME, "Welcome"),
    (HOLD, "Hold"),
    (CALLBACK, "Callback message"),
    (CALLBACK_CONFIRMATION, "Callback confirmation message"),
    (VOICEMAIL, "Voicemail"),
    (CALLBACK_MENU, "Callback menu"),
    (NUMBER_ENTRY, "Number entry"),
    (NUMBER_READBACK, "Number read-back"),
    (NUMBER_INVALID, "Invalid number"),
    (REQUEST_CONFIRMED, "Callback request confirmed"),
    (ALREADY_WAITING, "Callback already requested"),
    (UNAVAILABLE, "Unavailable / apology"),
]

TEXTS: dict[str, dict[str, str]] = {
    WELCOME: {
        "en": "Thank you for calling. Please stay on the line and the next available agent will be with you.",
        "ja": "お電話ありがとうございます。このままお待ちいただくと、担当者におつなぎします。",
        "de": "Vielen Dank für Ihren Anruf. Bitte bleiben Sie in der Leitung, der nächste freie Mitarbeiter ist gleich für Sie da.",
        "fr": "Merci de votre appel. Veuillez rester en ligne, le prochain conseiller disponible va vous répondre.",
        "es": "Gracias por su llamada. Por favor, permanezca en línea y el próximo agente disponible le atenderá.",
    },
    HOLD: {
        "en": "Thank you for waiting. An agent will be with you as soon as possible.",
        "ja": "お待たせして申し訳ございません。担当者が対応できるまで、今しばらくお待ちください。",
        "de": "Vielen Dank für Ihre Geduld. Ein Mitarbeiter ist so bald wie möglich für Sie da.",
        "fr": "Merci de votre patience. Un conseiller va vous répondre dès que possible.",
        "es": "Gracias por esperar. Un agente le atenderá lo antes posible.",
    },
    CALLBACK: {
        "en": "If you would rather not wait, press {key} and we will call you back. You will keep your place in the queue.",
        "ja": "お待ちいただく代わりに折り返しのお電話をご希望の場合は、{key}を押してください。順番はそのまま確保されます。",
        "de": "Wenn Sie nicht warten möchten, drücken Sie die {key}, und wir rufen Sie zurück. Ihr Platz in der Warteschlange bleibt erhalten.",
        "fr": "Si vous préférez ne pas attendre, appuyez sur {key} et nous vous rappellerons. Vous conservez votre place dans la file d'attente.",
        "es": "Si prefiere no esperar, pulse {key} y le devolveremos la llamada. Conservará su lugar en la cola.",
    },
    CALLBACK_CONFIRMATION: {
        "en": "To confirm your callback request, press 1.",
        "ja": "折り返し電話のリクエストを確定するには、1を押してください。",
        "de": "Um Ihren Rückrufwunsch zu bestätigen, drücken Sie die 1.",
        "fr": "Pour confirmer votre demande de rappel, appuyez sur 1.",
        "es": "Para confirmar su solicitud de devolución de llamada, pulse 1.",
    },
    VOICEMAIL: {
        "en": "Sorry, no one is available to take your call. Please leave a message after the tone.",
        "ja": "申し訳ございません。ただいま電話に出ることができません。発信音の後にメッセージをお残しください。",
        "de": "Leider ist gerade niemand erreichbar. Bitte hinterlassen Sie nach dem Signalton eine Nachricht.",
        "fr": "Personne n'est disponible pour le moment. Veuillez laisser un message après le bip sonore.",
        "es": "En este momento no hay nadie disponible. Deje su mensaje después de la señal.",
    },
    CALLBACK_MENU: {
        "en": "To be called back at the number you are calling from, press 1. To be called back at a different number, press 2. To return to the queue, press 3.",
        "ja": "おかけになっている電話番号への折り返しをご希望の場合は1を、別の電話番号への折り返しをご希望の場合は2を、保留キューに戻る場合は3を押してください。",
        "de": "Für einen Rückruf an die Nummer, von der Sie anrufen, drücken Sie die 1. Für einen Rückruf an eine andere Nummer drücken Sie die 2. Um in die Warteschlange zurückzukehren, drücken Sie die 3.",
        "fr": "Pour être rappelé au numéro depuis lequel vous appelez, appuyez sur 1. Pour être rappelé à un autre numéro, appuyez sur 2. Pour revenir dans la file d'attente, appuyez sur 3.",
        "es": "Para que le llamemos al número desde el que llama, pulse 1. Para que le llamemos a otro número, pulse 2. Para volver a la cola, pulse 3.",
    },
    NUMBER_ENTRY: {
        "en": "Please enter the number we should call, starting with the country code, followed by the hash key.",
        "ja": "折り返し先の電話番号を国番号から入力し、最後にシャープを押してください。",
        "de": "Bitte geben Sie die Rückrufnummer mit Ländervorwahl ein und drücken Sie anschließend die Rautetaste.",
        "fr": "Veuillez saisir le numéro à rappeler, en commençant par l'indicatif du pays, puis appuyez sur la touche dièse.",
        "es": "Introduzca el número al que debemos llamarle, empezando por el prefijo del país, y pulse la tecla almohadilla.",
    },
    NUMBER_READBACK: {
        "en": "You entered {number}.",
        "ja": "入力された番号は{number}です。",
        "de": "Sie haben {number} eingegeben.",
        "fr": "Vous avez saisi le {number}.",
        "es": "Ha introducido el {number}.",
    },
    NUMBER_INVALID: {
        "en": "Sorry, that number is not valid. Please try again.",
        "ja": "申し訳ございません。その番号は正しくありません。もう一度入力してください。",
        "de": "Diese Nummer ist leider ungültig. Bitte versuchen Sie es noch einmal.",
        "fr": "Désolé, ce numéro n'est pas valide. Veuillez réessayer.",
        "es": "Lo sentimos, ese número no es válido. Inténtelo de nuevo.",
    },
    REQUEST_CONFIRMED: {
        "en": "Thank you. Your callback request is confirmed. You keep your place in the queue and we will call you back as soon as an agent is available. Goodbye.",
        "ja": "ありがとうございます。折り返し電話のリクエストを承りました。順番はそのまま確保され、担当者が対応可能になり次第お電話いたします。失礼いたします。",
        "de": "Vielen Dank. Ihr Rückrufwunsch ist bestätigt. Ihr Platz in der Warteschlange bleibt erhalten, und wir rufen Sie zurück, sobald ein Mitarbeiter frei ist. Auf Wiederhören.",
        "fr": "Merci. Votre demande de rappel est confirmée. Vous conservez votre place dans la file d'attente et nous vous rappellerons dès qu'un conseiller sera disponible. Au revoir.",
        "es": "Gracias. Su solicitud de devolución de llamada está confirmada. Conserva su lugar en la cola y le llamaremos en cuanto haya un agente disponible. Adiós.",
    },
    ALREADY_WAITING: {
        "en": "You already have a callback request waiting for this number. We will call you back as soon as possible. Goodbye.",
        "ja": "この番号への折り返し電話のリクエストはすでに承っております。担当者が対応可能になり次第お電話いたします。失礼いたします。",
        "de": "Für diese Nummer liegt bereits ein Rückrufwunsch vor. Wir rufen Sie so bald wie möglich zurück. Auf Wiederhören.",
        "fr": "Une demande de rappel est déjà enregistrée pour ce numéro. Nous vous rappellerons dès que possible. Au revoir.",
        "es": "Ya tiene una solicitud de devolución de llamada pendiente para este número. Le llamaremos lo antes posible. Adiós.",
    },
    UNAVAILABLE: {
        "en": "We are sorry, we cannot take your call right now. Please try again later. Goodbye.",
        "ja": "申し訳ございません。ただいまお電話をお受けできません。後ほどおかけ直しください。",
        "de": "Leider können wir Ihren Anruf gerade nicht entgegennehmen. Bitte versuchen Sie es später noch einmal. Auf Wiederhören.",
        "fr": "Nous sommes désolés, nous ne pouvons pas prendre votre appel pour le moment. Veuillez rappeler plus tard. Au revoir.",
        "es": "Lo sentimos, en este momento no podemos atender su llamada. Vuelva a intentarlo más tarde. Adiós.",
    },
}

_LANGUAGE_NAMES = {"en": "English", "ja": "Japanese", "de": "German", "fr": "French", "es": "Spanish"}
_CATEGORY_NAMES = dict(CATEGORIES)


def system_key(category: str, language: str) -> str:
    return f"{category}:{language}"


def system_greetings() -> list[dict]:
    """One dict per system greeting: the fields of its ``Greeting`` row."""
    rows = []
    for category, _label in CATEGORIES:
        for language, text in TEXTS[category].items():
            rows.append(
                {
                    "system_key": system_key(category, language),
                    "category": category,
                    "language": language,
                    "name": f"Default {_CATEGORY_NAMES[category].lower()} ({_LANGUAGE_NAMES[language]})",
                    "text": text,
                }
            )
    return rows


# --- The caller's own waiting callback (SPEC C13) ---------------------------------
# Spoken by talk.twiml in the line's callback language when a caller whose number
# already has a pending callback on the line calls again. System texts only, not
# ``Greeting`` rows (no category an admin picks for a line), like the position
# announcements (C12).
PENDING_MENU = "pending_menu"
PENDING_KEPT = "pending_kept"
PENDING_CANCELLED = "pending_cancelled"
PENDING_TOO_LATE = "pending_too_late"

PENDING_TEXTS: dict[str, dict[str, str]] = {
    PENDING_MENU: {
        "en": "You already have a callback waiting. Press 1 to keep it, 2 to cancel it, 3 to wait on the line now.",
        "ja": "折り返し電話のリクエストをすでに承っております。そのまま折り返しをお待ちいただく場合は1を、キャンセルする場合は2を、このままお電話でお待ちいただく場合は3を押してください。",
        "de": "Für Sie liegt bereits ein Rückrufwunsch vor. Drücken Sie die 1, um ihn zu behalten, die 2, um ihn zu stornieren, oder die 3, um jetzt in der Leitung zu warten.",
        "fr": "Vous avez déjà une demande de rappel en attente. Appuyez sur 1 pour la conserver, sur 2 pour l'annuler, ou sur 3 pour patienter en ligne maintenant.",
        "es": "Ya tiene una devolución de llamada pendiente. Pulse 1 para mantenerla, 2 para cancelarla o 3 para esperar en línea ahora.",
    },
    PENDING_KEPT: {
        "en": "Thank you. Your callback stays in line and we will call you back as soon as possible. Goodbye.",
        "ja": "ありがとうございます。折り返し電話のリクエストはそのまま承っております。できるだけ早くお電話いたします。失礼いたします。",
        "de": "Vielen Dank. Ihr Rückrufwunsch bleibt bestehen, und wir rufen Sie so bald wie möglich zurück. Auf Wiederhören.",
        "fr": "Merci. Votre demande de rappel est conservée et nous vous rappellerons dès que possible. Au revoir.",
        "es": "Gracias. Su devolución de llamada se mantiene y le llamaremos lo antes posible. Adiós.",
    },
    PENDING_CANCELLED: {
        "en": "Your callback has been cancelled. Thank you for calling. Goodbye.",
        "ja": "折り返し電話のリクエストをキャンセルしました。お電話ありがとうございました。失礼いたします。",
        "de": "Ihr Rückrufwunsch wurde storniert. Vielen Dank für Ihren Anruf. Auf Wiederhören.",
        "fr": "Votre demande de rappel a été annulée. Merci de votre appel. Au revoir.",
        "es": "Su devolución de llamada ha sido cancelada. Gracias por llamar. Adiós.",
    },
    # The request moved on while the caller chose (an agent accepted it just then).
    PENDING_TOO_LATE: {
        "en": "An agent is already calling you back, so your callback could not be cancelled. Goodbye.",
        "ja": "担当者がすでに折り返しのお電話をおかけしているため、キャンセルできませんでした。失礼いたします。",
        "de": "Ein Mitarbeiter ruft Sie bereits zurück, daher konnte Ihr Rückrufwunsch nicht storniert werden. Auf Wiederhören.",
        "fr": "Un conseiller est déjà en train de vous rappeler, votre demande n'a donc pas pu être annulée. Au revoir.",
        "es": "Un agente ya le está devolviendo la llamada, por lo que no se ha podido cancelar. Adiós.",
    },
}


def pending_text(kind: str, language: str) -> tuple[str, str]:
    """(text, language) of a C13 prompt: ``language``'s, else English's."""
    texts = PENDING_TEXTS[kind]
    return (texts[language], language) if language in texts else (texts["en"], "en")

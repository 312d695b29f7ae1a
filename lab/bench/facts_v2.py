"""Fact banks for LCIO-Bench v2's new blueprints: chit-chat, translation, word problems, yes/no."""

from __future__ import annotations

# Greetings and small talk: (message, reference reply). Scored by similarity: any friendly,
# on-topic reply is close to the reference, so a small model is enough.
GREETINGS: list[tuple[str, str]] = [
    ("Hi there!", "Hello! How can I help you today?"),
    ("Good morning!", "Good morning! How can I help you today?"),
    ("Hello, nice to meet you.", "Nice to meet you too! How can I help?"),
    ("Hey! Are you there?", "Yes, I'm here. How can I help you?"),
    ("Good evening.", "Good evening! What can I do for you?"),
    ("Hi, I have a few questions for you.", "Of course! Ask away, I'm happy to help."),
]
THANKS: list[tuple[str, str]] = [
    ("Thanks, that's all for now.", "You're welcome! Have a great day."),
    ("Great, thank you so much!", "You're very welcome! Glad I could help."),
    ("Perfect, thanks. Bye!", "You're welcome, goodbye!"),
    ("Cheers, that helps a lot.", "Glad it helped! Let me know if you need anything else."),
]

# (phrase, language, keyword groups of an acceptable translation, reference)
TRANSLATIONS: list[tuple[str, str, tuple[tuple[str, ...], ...], str]] = [
    ("good morning", "Spanish", (("buenos dias",),), "Buenos días."),
    ("thank you very much", "Spanish", (("muchas gracias",),), "Muchas gracias."),
    ("where is the station?", "Spanish", (("donde",), ("estacion",)), "¿Dónde está la estación?"),
    ("the cat is black", "French", (("chat",), ("noir",)), "Le chat est noir."),
    ("good night", "French", (("bonne nuit",),), "Bonne nuit."),
    ("I love you", "French", (("je t'aime", "je t aime"),), "Je t'aime."),
    ("the water is cold", "Spanish", (("agua",), ("fria",)), "El agua está fría."),
    ("see you tomorrow", "Spanish", (("hasta manana",),), "Hasta mañana."),
    ("good evening", "French", (("bonsoir",),), "Bonsoir."),
    ("the house is big", "German", (("haus",), ("gross",)), "Das Haus ist groß."),
    ("thank you", "German", (("danke",),), "Danke."),
    ("the dog is small", "German", (("hund",), ("klein",)), "Der Hund ist klein."),
    ("I am hungry", "French", (("j'ai faim", "j ai faim"),), "J'ai faim."),
    ("one beer, please", "German", (("bier",), ("bitte",)), "Ein Bier, bitte."),
]

# Yes/no questions about a word in a sign: (lines, word asked about, is it there).
YES_NO_WORDS: list[str] = ["open", "closed", "delayed", "sale", "paint", "quiet", "pool", "train",
                           "free", "parking", "exit", "museum"]

# Multi-step word problems: a template and a function of its numbers.
NAMES: list[str] = ["Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Goran", "Hana"]
ITEMS: list[str] = ["apples", "stickers", "marbles", "cookies", "pencils", "cards"]

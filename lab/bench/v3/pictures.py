"""Photos, signs and notes for v3: each picture with questions written for it.

A photo family is one subject (the photo is the same file in each of its dialogues); a sign or
note family is one theme, whose opening request is phrased its own way, so no prompt is
shared between families."""

from __future__ import annotations

from dataclasses import replace

from lab.bench.media import PHOTOS, MediaSpec
from lab.bench.v3.items import Family, Item, fam, kw, num, sim


def photo(name: str) -> MediaSpec:
    return MediaSpec("photo", {"name": name}, f"photo of {PHOTOS[name]}")


def sign(*lines: str) -> MediaSpec:
    return MediaSpec("text_picture", {"style": "sign", "lines": list(lines)},
                     "sign: " + " / ".join(lines))


def note(*lines: str) -> MediaSpec:
    return MediaSpec("text_picture", {"style": "note", "lines": list(lines)},
                     "note: " + " / ".join(lines))


def on(item: Item, *files: MediaSpec) -> Item:
    """`item` sent with `files` (all needed)."""
    return replace(item, attachments=files, relevant=tuple(True for _ in files))


def _photo_family(name: str, task: str, *items: Item) -> Family:
    return fam(f"photo-{name}", task, *(on(i, photo(name)) for i in items))


PHOTO_FAMILIES: tuple[Family, ...] = (
    _photo_family("chelsea", "image_qa",
                  kw("What animal is this?", "A cat.", "cat|kitten|tabby|feline",
                     then=(sim("Suggest three names for it.", "Whiskers, Tiger and Luna.",
                               task="recommend"),)),
                  kw("Is this a dog or a cat?", "A cat.", "cat",
                     then=(kw("Do animals like this usually enjoy baths?", "No, most cats "
                              "dislike water.", "no", task="yes_no"),))),
    _photo_family("coffee", "image_qa",
                  kw("What drink is in the picture?", "A cup of coffee.", "coffee|latte|cappuccino",
                     then=(kw("Which plant do its beans come from?", "The coffee plant.",
                              "coffee", task="factual"),)),
                  kw("Would this be good to drink right before bed? Look at the picture.",
                     "No, coffee has caffeine.", "no|caffeine")),
    _photo_family("astronaut", "image_qa",
                  kw("What job does the person in this photo do?", "She is an astronaut.",
                     "astronaut|space"),
                  kw("What is the person wearing?", "A spacesuit.", "spacesuit|space suit|suit",
                     then=(kw("Why do they need one in space?", "There is no air to breathe.",
                              "air|oxygen|vacuum", task="factual"),))),
    _photo_family("rocket", "image_qa",
                  kw("What vehicle is this?", "A rocket (the space shuttle) on a launch pad.",
                     "rocket|shuttle"),
                  kw("Where is this vehicle going to go?", "Into space.", "space|orbit")),
    _photo_family("camera", "image_qa",
                  kw("What is the man in the picture holding?", "A camera.", "camera"),
                  kw("Is this photo in colour or black and white?", "Black and white.",
                     "black and white|grayscale|greyscale|monochrome")),
    _photo_family("moon", "image_qa",
                  kw("What is this a picture of?", "The Moon.", "moon|lunar",
                     then=(kw("What are the round dents on its surface called?", "Craters.",
                              "crater|craters", task="factual"),)),
                  num("How many people have walked on what's in this photo, about?",
                      "Twelve people.", 12, task="factual")),
    _photo_family("clock", "image_qa",
                  kw("What object is in this photo?", "A clock.", "clock"),
                  num("How many numbers are on a normal face of this object?", "Twelve.", 12)),
    _photo_family("coins", "image_qa",
                  kw("What's in this image?", "Coins.", "coin|coins"),
                  kw("Are these banknotes or coins?", "Coins.", "coin|coins")),
    _photo_family("hubble_deep_field", "image_qa",
                  kw("What does this telescope picture show?", "Many distant galaxies.",
                     "galaxy|galaxies|stars"),
                  kw("Was this picture taken on Earth or by a space telescope?",
                     "By a space telescope (Hubble).", "space|hubble|telescope")),
    _photo_family("horse", "image_qa",
                  kw("Which animal is shown here?", "A horse.", "horse|pony",
                     then=(kw("What do we call a young one of these?", "A foal.",
                              "foal|colt|filly", task="factual"),)),
                  kw("Name the animal in this drawing and what it eats.", "A horse; it eats grass "
                     "and hay.", "horse", "grass|hay|oat")),
)


def _sign_item(lines: tuple[str, ...], opener: str, said: str, *rest: str | Item) -> Item:
    """A sign read aloud (keyword groups: the strings in `rest`), then its follow-ups (items)."""
    words = [r for r in rest if isinstance(r, str)]
    then = tuple(r for r in rest if isinstance(r, Item))
    return on(kw(opener, said, *words, then=then), sign(*lines))


SIGN_FAMILIES: tuple[Family, ...] = (
    fam("sign-transport", "ocr",
        _sign_item(("BUS 42 CANCELLED", "USE LINE 17 INSTEAD"), "Can you read this notice for me?",
                   "Bus 42 is cancelled; use line 17 instead.", "cancel|cancelled|canceled", "17",
                   num("Which bus line should I take instead?", "Line 17.", 17)),
        _sign_item(("PLATFORM 9 CLOSED", "TRAINS LEAVE FROM PLATFORM 3"),
                   "Can you read this notice for me?", "Platform 9 is closed; trains leave from 3.",
                   "closed", "3", num("So which platform do I go to?", "Platform 3.", 3)),
        _sign_item(("TAXI RANK", "MAX 4 PASSENGERS"), "Can you read this notice for me?",
                   "Taxi rank, at most 4 passengers.", "taxi", "4",
                   kw("We are five people. Can we all take one taxi?", "No, the maximum is 4.",
                      "no", task="yes_no")),
        _sign_item(("NO PARKING", "MON-FRI 8 AM - 6 PM"), "Can you read this notice for me?",
                   "No parking Monday to Friday, 8 am to 6 pm.", "parking", "8", "6",
                   kw("Can I park here on Saturday?", "Yes, the ban is only on weekdays.", "yes",
                      task="yes_no"))),
    fam("sign-shops", "ocr",
        _sign_item(("BAKERY", "OPEN 7 AM - 2 PM", "CLOSED SUNDAYS"),
                   "What does this shop sign tell me?", "A bakery open 7 am to 2 pm, closed on "
                   "Sundays.", "bakery", "7", "sunday|sundays",
                   kw("Is it open on Sunday?", "No.", "no", task="yes_no")),
        _sign_item(("SALE", "ALL SHOES 30% OFF"), "What does this shop sign tell me?",
                   "Sale: all shoes 30 % off.", "sale", "shoe|shoes", "30",
                   num("Shoes usually cost $50. What do they cost in this sale?", "$35.", 35,
                       0.005, task="arithmetic")),
        _sign_item(("CASH ONLY", "NO CARDS"), "What does this shop sign tell me?",
                   "They take cash only, no cards.", "cash",
                   kw("Can I pay with my credit card here?", "No, cash only.", "no",
                      task="yes_no")),
        _sign_item(("PHARMACY", "OPEN 24 HOURS"), "What does this shop sign tell me?",
                   "A pharmacy, open 24 hours.", "pharmacy", "24",
                   kw("It's 3 am. Will it be open?", "Yes, it is open all night.", "yes",
                      task="yes_no"))),
    fam("sign-leisure", "ocr",
        _sign_item(("SWIMMING POOL", "ADULTS 5 EUR", "CHILDREN 2 EUR"),
                   "What's written on this board?", "Swimming pool: adults 5 euros, children 2.",
                   "pool", "5", "2",
                   num("How much for two adults and one child?", "12 euros.", 12,
                       task="arithmetic")),
        _sign_item(("MUSEUM", "FREE ENTRY ON WEDNESDAYS"), "What's written on this board?",
                   "Museum entry is free on Wednesdays.", "museum", "free", "wednesday|wednesdays",
                   kw("On which day should I go to save money?", "Wednesday.", "wednesday|wednesdays",
                      task="reasoning")),
        _sign_item(("PARK GATES CLOSE", "AT SUNSET"), "What's written on this board?",
                   "The park gates close at sunset.", "close", "sunset",
                   kw("Can I stay in the park until midnight?", "No, it closes at sunset.", "no",
                      task="yes_no")),
        _sign_item(("CINEMA", "LAST SHOW 9:30 PM"), "What's written on this board?",
                   "Cinema: the last show is at 9:30 pm.", "cinema", "9",
                   kw("If I arrive at 10 pm can I still see a film?", "No, the last show is at "
                      "9:30.", "no", task="yes_no"))),
    fam("sign-safety", "ocr",
        _sign_item(("DANGER", "THIN ICE", "KEEP OFF"), "Please tell me the words on this warning.",
                   "Danger: thin ice, keep off.", "thin ice|ice", "keep off|danger",
                   kw("Is it safe to walk on the lake?", "No.", "no", task="yes_no")),
        _sign_item(("HARD HAT AREA", "HELMETS REQUIRED"), "Please tell me the words on this warning.",
                   "Hard hat area: helmets required.", "hat|helmet",
                   kw("What must I wear here?", "A helmet (hard hat).", "helmet|hard hat")),
        _sign_item(("SLIPPERY FLOOR", "WALK SLOWLY"), "Please tell me the words on this warning.",
                   "Slippery floor, walk slowly.", "slippery", "slow|slowly",
                   kw("Should I run across this floor?", "No.", "no", task="yes_no")),
        _sign_item(("FIRE EXIT", "KEEP CLEAR AT ALL TIMES"),
                   "Please tell me the words on this warning.", "Fire exit, keep clear at all "
                   "times.", "fire exit|exit", "clear",
                   kw("Can I leave my bike in front of this door?", "No, keep it clear.", "no",
                      task="yes_no"))),
)

NOTE_FAMILIES: tuple[Family, ...] = (
    fam("note-lists", "ocr",
        on(kw("What's on my shopping list?", "Eggs, spinach, rice and lemons.", "egg|eggs", "spinach",
              "rice", "lemon|lemons", then=(num("How many things are on it?", "Four.", 4),)),
           note("Eggs", "Spinach", "Rice", "Lemons")),
        on(kw("Read my to-do list back to me, please.", "Call the dentist, pay rent, water "
              "plants.", "dentist", "rent", "plant|plants",
              then=(kw("Which one involves money?", "Paying rent.", "rent"),)),
           note("Call dentist", "Pay rent", "Water plants")),
        on(kw("What did I write I need for the picnic?", "Blanket, sandwiches and juice.",
              "blanket", "sandwich|sandwiches", "juice"), note("Picnic:", "blanket", "sandwiches", "juice"))),
    fam("note-messages", "ocr",
        on(kw("Who called while I was out, according to this note?", "Mike called.", "mike",
              then=(num("What number should I call back? Just the last four digits.", "4417.",
                        4417),)),
           note("Mike called", "Call back: 555 4417")),
        on(kw("What time is the meeting on this sticky note?", "At 3:30 pm.", "3:30|3 30|330"),
           note("Team meeting", "Thursday 3:30 pm", "Room B")),
        on(kw("Which room does my note say?", "Room 12.", "12",
              then=(kw("And which day?", "Tuesday.", "tuesday"),)),
           note("Doctor: Tuesday", "Room 12, 2nd floor"))),
)

"""Fact banks for LCIO-Bench's blueprints: every fact a question asks about, with its answer."""

from __future__ import annotations

from typing import Any

from lab.bench.scoring import Rule

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December"]

FACTS: list[tuple[str, tuple[tuple[str, ...], ...], str]] = [
    ("What is the capital of France?", (("paris",),), "The capital of France is Paris."),
    ("What is the capital of Japan?", (("tokyo",),), "The capital of Japan is Tokyo."),
    ("What is the capital of Italy?", (("rome",),), "The capital of Italy is Rome."),
    ("What is the capital of Germany?", (("berlin",),), "The capital of Germany is Berlin."),
    ("What is the capital of Spain?", (("madrid",),), "The capital of Spain is Madrid."),
    ("What is the capital of Egypt?", (("cairo",),), "The capital of Egypt is Cairo."),
    ("What is the capital of Canada?", (("ottawa",),), "The capital of Canada is Ottawa."),
    ("What is the largest planet in the solar system?", (("jupiter",),),
     "Jupiter is the largest planet in the solar system."),
    ("Which planet is known as the Red Planet?", (("mars",),), "Mars is the Red Planet."),
    ("What gas do plants absorb from the air?", (("carbon dioxide", "co2"),),
     "Plants absorb carbon dioxide (CO2) from the air."),
    ("What is the chemical symbol for water?", (("h2o",),), "The chemical formula of water is H2O."),
    ("How many days are in a leap year?", (("366",),), "A leap year has 366 days."),
    ("Who wrote Romeo and Juliet?", (("shakespeare",),),
     "Romeo and Juliet was written by William Shakespeare."),
    ("What is the largest ocean on Earth?", (("pacific",),),
     "The Pacific Ocean is the largest ocean on Earth."),
    ("What is the freezing point of water in degrees Celsius?", (("0", "zero"),),
     "Water freezes at 0 degrees Celsius."),
    ("How many continents are there?", (("7", "seven"),), "There are seven continents."),
    ("What is the tallest mountain in the world?", (("everest",),),
     "Mount Everest is the tallest mountain in the world."),
    ("Which animal is known as the king of the jungle?", (("lion",),),
     "The lion is called the king of the jungle."),
    ("What language is mainly spoken in Brazil?", (("portuguese",),),
     "Most people in Brazil speak Portuguese."),
    ("What is the longest river in Africa?", (("nile",),), "The Nile is the longest river in Africa."),
    ("Who painted the Mona Lisa?", (("leonardo", "da vinci"),),
     "The Mona Lisa was painted by Leonardo da Vinci."),
    ("What is the boiling point of water in degrees Celsius at sea level?", (("100",),),
     "Water boils at 100 degrees Celsius at sea level."),
    ("How many legs does a spider have?", (("8", "eight"),), "A spider has eight legs."),
    ("What is the currency of the United Kingdom?", (("pound", "sterling"),),
     "The currency of the United Kingdom is the pound sterling."),
    ("Which element has the chemical symbol O?", (("oxygen",),), "O is the symbol for oxygen."),
    ("What is the smallest prime number?", (("2", "two"),), "The smallest prime number is 2."),
]

# Photo subject -> (keyword groups, a follow-up fact, a recommendation request and reference).
PHOTO_FACTS: dict[str, dict[str, Any]] = {
    "chelsea": {
        "groups": (("cat", "kitten", "kitty", "feline", "tabby"),),
        "fact": ("How many legs does the animal in the photo have?", Rule("number", 4.0),
                 "A cat has four legs."),
        "rec": ("Recommend a few good names for a pet like the one in the photo.",
                "For a cat like this, names such as Whiskers, Luna, Milo or Tiger would suit."),
    },
    "coffee": {
        "groups": (("coffee", "espresso", "cappuccino", "latte"), ("cup", "mug")),
        "fact": ("Which country produces the most of the drink in the photo?",
                 Rule("keywords", groups=(("brazil",),)), "Brazil produces the most coffee."),
        "rec": ("Recommend a pastry to go with the drink in the photo.",
                "A butter croissant or an almond biscotti goes well with a cup of coffee."),
    },
    "astronaut": {
        "groups": (("astronaut", "spacesuit", "space suit", "cosmonaut"),),
        "fact": ("Who was the first person to walk on the Moon?",
                 Rule("keywords", groups=(("armstrong",),)),
                 "Neil Armstrong was the first person to walk on the Moon, in 1969."),
        "rec": ("Recommend a book for someone who likes what is in the photo.",
                "Try The Martian by Andy Weir, a novel about an astronaut stranded on Mars."),
    },
    "rocket": {
        "groups": (("rocket", "space shuttle", "launch"),),
        "fact": ("What force pulls the object in the photo back towards Earth?",
                 Rule("keywords", groups=(("gravity", "gravitational"),)),
                 "Gravity pulls a rocket back towards Earth."),
        "rec": ("Recommend a museum for someone who loves what is in the photo.",
                "Visit the Kennedy Space Center or the Smithsonian Air and Space Museum to see "
                "real rockets."),
    },
    "camera": {
        "groups": (("camera", "photographer", "tripod"),),
        "fact": ("What does the word photography mean in Greek, roughly?",
                 Rule("keywords", groups=(("light",), ("draw", "writ", "drawing", "writing"))),
                 "Photography means drawing or writing with light."),
        "rec": ("Recommend a hobby for someone who likes what the man in the photo is doing.",
                "Street photography or joining a local photography club would suit someone "
                "who likes taking pictures with a camera."),
    },
    "moon": {
        "groups": (("moon", "lunar"),),
        "fact": ("About how many days does the object in the photo take to orbit Earth?",
                 Rule("number", 27.3, tolerance=2.0),
                 "The Moon takes about 27.3 days to orbit Earth."),
        "rec": ("Recommend a way to see the object in the photo up close at home.",
                "Use a small telescope or good binoculars to look at the Moon's craters at home."),
    },
    "clock": {
        "groups": (("clock", "watch", "time"),),
        "fact": ("How many minutes are there in the number of hours a clock face shows?",
                 Rule("number", 720.0), "A clock face shows 12 hours, which is 720 minutes."),
        "rec": ("Recommend a way to stop being late, given what is in the photo.",
                "Set your clock five minutes fast and use alarms to leave on time."),
    },
    "coins": {
        "groups": (("coin", "coins", "money", "currency"),),
        "fact": ("How many cents are in one US dollar?", Rule("number", 100.0),
                 "There are 100 cents in one US dollar."),
        "rec": ("Recommend a way to save more of what is in the photo.",
                "Keep a coin jar and move a fixed amount into a savings account every month."),
    },
    "hubble_deep_field": {
        "groups": (("galaxy", "galaxies", "stars", "space", "universe", "nebula"),),
        "fact": ("What is the name of the galaxy we live in?",
                 Rule("keywords", groups=(("milky way",),)), "We live in the Milky Way galaxy."),
        "rec": ("Recommend a documentary about what is in the photo.",
                "Watch Cosmos: A Spacetime Odyssey, a documentary about galaxies and space."),
    },
    "horse": {
        "groups": (("horse", "pony", "stallion", "mare"),),
        "fact": ("What is a baby of the animal in the picture called?",
                 Rule("keywords", groups=(("foal", "colt", "filly"),)),
                 "A baby horse is called a foal."),
        "rec": ("Recommend a family activity related to the animal in the picture.",
                "Try a guided pony trek or a riding lesson at a local stables."),
    },
}

PROCESSES: list[tuple[str, list[str]]] = [
    ("Making tea", ["Boil water", "Add tea bag", "Steep 3 minutes", "Remove bag", "Add milk"]),
    ("Planting a seed", ["Fill pot with soil", "Press seed in", "Water gently", "Place in sun"]),
    ("Sending a parcel", ["Pack the item", "Weigh the box", "Print label", "Drop at post office"]),
    ("Baking bread", ["Mix flour and yeast", "Knead dough", "Let it rise", "Shape loaf", "Bake"]),
    ("Fixing a bug", ["Reproduce it", "Write a test", "Fix the code", "Run all tests",
                      "Open a pull request"]),
    ("Washing clothes", ["Sort by colour", "Add detergent", "Run the wash", "Hang to dry"]),
    ("Booking a trip", ["Pick dates", "Compare flights", "Book hotel", "Pack bags"]),
]

SIGNS: list[tuple[list[str], tuple[tuple[str, ...], ...], int]] = [
    (["CLOSED FOR CLEANING", "OPEN AGAIN AT 3 PM"], (("closed",), ("cleaning",), ("3",)), 15),
    (["PLATFORM 4 DELAYED", "NEXT TRAIN AT 6 PM"], (("platform",), ("delayed",), ("6",)), 18),
    (["WET PAINT", "DO NOT TOUCH UNTIL 5 PM"], (("wet",), ("paint",), ("5",)), 17),
    (["GARAGE SALE TODAY", "STARTS AT 9 AM"], (("garage",), ("sale",), ("9",)), 9),
    (["POOL CLOSED", "REOPENS AT 2 PM"], (("pool",), ("closed",), ("2",)), 14),
    (["LIBRARY QUIET ZONE", "DOORS CLOSE AT 8 PM"], (("library",), ("quiet",), ("8",)), 20),
]

SHOP_ITEMS = [("Bread", 2.40), ("Milk", 1.15), ("Eggs", 3.20), ("Apples", 2.75), ("Cheese", 4.60),
              ("Coffee", 6.90), ("Pasta", 1.80), ("Tomatoes", 2.10), ("Butter", 2.95),
              ("Rice", 3.30)]
PASSWORD_WORDS = ["sunflower", "maple", "harbor", "violet", "falcon", "cobalt", "meadow", "tiger"]

RUDE_MESSAGES: list[tuple[str, str, str]] = [
    ("send me the report now",
     "more polite",
     "Could you please send me the report when you have a moment? Thank you!"),
    ("hey, can't make it tmrw, sorry",
     "more formal",
     "Hello, I am sorry, but I will not be able to attend tomorrow. Thank you for understanding."),
    ("ur late again. fix it.",
     "kinder",
     "I noticed you were late again; is everything okay? Let's find a way to help you be on "
     "time."),
    ("need the keys back asap",
     "more polite",
     "Would you mind returning the keys as soon as you can? Thanks a lot."),
    ("meeting moved to 4, dont be late",
     "more professional",
     "Please note that the meeting has been moved to 4 pm. I look forward to seeing you on time."),
    ("why didnt u reply to my email",
     "friendlier",
     "Hi! Just checking whether you saw my email; I'd love to hear back when you have time."),
]

EMAILS: list[tuple[str, str]] = [
    ("Hi all, the office will be closed on Friday for the public holiday. Please finish your "
     "timesheets by Thursday noon, and remember that the server maintenance is scheduled for "
     "Saturday morning, so save your work before you leave.",
     "The office is closed on Friday, timesheets are due Thursday noon, and server maintenance "
     "is on Saturday morning."),
    ("Dear parents, the school trip to the science museum is on 12 May. The bus leaves at 8:30 "
     "and returns at 4. Children need a packed lunch and a signed permission form by Monday.",
     "The school trip to the science museum is on 12 May, 8:30 to 4, and needs a packed lunch "
     "and a signed form by Monday."),
    ("Team, our sales grew by 12 percent this quarter, mostly thanks to the new online shop. "
     "Returns are still high, so next quarter we will focus on better product photos and "
     "sizing guides.",
     "Sales grew 12 percent this quarter thanks to the online shop; next quarter focuses on "
     "reducing returns with better photos and sizing guides."),
    ("Hello, your order 4471 has shipped and should arrive within three working days. If you "
     "are not at home, the courier will leave a card and try again the next day.",
     "Order 4471 has shipped and should arrive in three working days; the courier retries the "
     "next day if you are out."),
]

REC_REQUESTS: list[tuple[str, str]] = [
    ("Recommend a family-friendly animated movie for this weekend.",
     "Try Toy Story or Finding Nemo: funny, warm animated films the whole family can enjoy."),
    ("Recommend a beginner-friendly programming language.",
     "Python is a great first programming language: its syntax is simple and readable."),
    ("Recommend a healthy breakfast I can make in five minutes.",
     "Greek yoghurt with fruit and oats, or a banana with peanut butter on wholegrain toast."),
    ("Recommend a good exercise to do at home without equipment.",
     "Bodyweight squats, push-ups and planks are effective exercises you can do at home."),
    ("Recommend a classic novel for a long train journey.",
     "Pride and Prejudice by Jane Austen is an engaging classic novel for a long journey."),
    ("Recommend a houseplant that is hard to kill.",
     "A snake plant or a pothos: both tolerate low light and irregular watering."),
]

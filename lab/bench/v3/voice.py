"""Voice notes for v3: a spoken question (espeak-ng) whose words are only in the audio.

Each family has its own typed request and follow-up, and its own spoken questions, so a model
that cannot hear the audio cannot know what was asked."""

from __future__ import annotations

from dataclasses import replace

from lab.bench.media import MediaSpec
from lab.bench.v3.items import Family, Item, kw, num, sim


def speech(text: str) -> MediaSpec:
    return MediaSpec("speech", {"text": text}, f"spoken: {text}")


def _voice_family(name: str, ask: str, follow: str, follow_task: str,
                  spoken: tuple[tuple[str, Item], ...]) -> Family:
    """`ask` is typed with each recording; `follow` asks about it again (transcribe or redo)."""
    items = []
    for words, answer in spoken:
        then: tuple[Item, ...] = ()
        if follow_task == "transcribe":
            then = (sim(follow, words, task="transcribe"),)
        items.append(replace(answer, prompt=ask, attachments=(speech(words),), relevant=(True,),
                             question=words, then=then))
    return Family(name, "speech", tuple(items))


VOICE_FAMILIES: tuple[Family, ...] = (
    _voice_family(
        "voice-facts", "I recorded my question, can you answer it?",
        "Write down exactly what I said in the recording.", "transcribe", (
            ("What is the capital city of Ireland?", kw("", "Dublin.", "dublin")),
            ("Which planet is the hottest in our solar system?", kw("", "Venus.", "venus")),
            ("Who wrote the play Hamlet?", kw("", "Shakespeare.", "shakespeare")),
            ("What is the largest mammal on Earth?", kw("", "The blue whale.", "blue whale|whale")),
            ("Which country gave the Statue of Liberty to America?", kw("", "France.", "france")),
            ("What is the hardest natural material?", kw("", "Diamond.", "diamond")),
            ("Which language has the most native speakers?", kw("", "Mandarin Chinese.",
                                                                 "mandarin|chinese")),
            ("How many sides does a hexagon have?", num("", "Six.", 6)),
        )),
    _voice_family(
        "voice-maths", "Listen to my voice note and give me the answer.",
        "Say what I asked in the voice note, word for word.", "transcribe", (
            ("What is twelve plus nineteen?", num("", "31.", 31)),
            ("How much is seven times eight?", num("", "56.", 56)),
            ("What is one hundred divided by four?", num("", "25.", 25)),
            ("If I have forty dollars and spend fifteen, how much is left?", num("", "$25.", 25)),
            ("How many minutes are in three hours?", num("", "180.", 180)),
            ("What is ten percent of two hundred and fifty?", num("", "25.", 25)),
            ("How many days are in four weeks?", num("", "28.", 28)),
        )),
    _voice_family(
        "voice-advice", "Here's a voice message from me. What do you think?",
        "", "", (
            ("I keep forgetting my keys. Any tips?",
             sim("", "Keep a fixed hook or bowl by the door and always put them there.")),
            ("What should I cook tonight with pasta and tomatoes?",
             sim("", "A simple tomato pasta: fry garlic, add tomatoes, simmer and toss with "
                     "pasta.")),
            ("How can I make my mornings less rushed?",
             sim("", "Prepare clothes and bag the night before and get up fifteen minutes "
                     "earlier.")),
            ("What is a good gift for a friend who loves gardening?",
             sim("", "Good gloves, a set of seeds or a nice pot for a new plant.")),
            ("How do I stay motivated to exercise?",
             sim("", "Pick something you enjoy, set small goals and exercise with a friend.")),
            ("I feel stressed about exams. What can I do?",
             sim("", "Make a study plan, take regular breaks, sleep well and talk to someone.")),
        )),
    _voice_family(
        "voice-words", "Can you help with what I just said in this audio?",
        "Please type out my recording for me.", "transcribe", (
            ("How do you say good morning in German?", kw("", "Guten Morgen.", "guten morgen")),
            ("What is the opposite of heavy?", kw("", "Light.", "light")),
            ("What does the word enormous mean?", kw("", "Very big.", "big|large|huge")),
            ("Give me a word that rhymes with moon.", kw("", "Spoon.",
                                                          "spoon|soon|noon|june|tune|balloon")),
            ("How do you spell the word rhythm?", kw("", "R-H-Y-T-H-M.", "rhythm|r h y t h m|r-h-y-t-h-m")),
            ("What is the French word for cat?", kw("", "Chat.", "chat")),
        )),
)

"""Pasted texts for v3: summarise a message, then answer questions about what it says.

The answer is in the prompt itself, so a small model can do well; follow-ups ask about a
detail of the pasted text (the history holds it)."""

from __future__ import annotations

from lab.bench.v3.items import Family, fam, kw, num, sim

PASSAGES: tuple[Family, ...] = (
    fam("passage-notices", "summarise",
        sim("Summarise this for me: 'Dear residents, the lift in block C will be out of service "
            "from Monday 3 June to Wednesday 5 June while it is modernised. Please use the lift "
            "in block D. We apologise for the inconvenience.'",
            "The block C lift is out of service 3-5 June; use block D's lift.",
            then=(kw("Which lift should I use meanwhile?", "The one in block D.", "d"),)),
        sim("What's the gist of this? 'Due to the bank holiday, bins will be collected one day "
            "later than usual all next week. Please put your bins out by 7 am on the new day.'",
            "Bin collection is one day late next week because of the holiday; put bins out by "
            "7 am.", then=(num("By what hour must the bins be out?", "7 am.", 7),)),
        sim("Give me the short version: 'The school trip to the science museum on Friday will "
            "leave at 8:15 sharp from the main gate. Children need a packed lunch, a coat, and "
            "the signed permission slip.'",
            "Friday's museum trip leaves at 8:15 from the main gate; bring lunch, a coat and the "
            "signed slip.", then=(kw("Where does the bus leave from?", "The main gate.",
                                     "main gate|gate"),)),
        sim("Sum this up: 'Our office will move to 14 Harbour Street on 1 July. The phone "
            "numbers stay the same. Parking is available behind the building.'",
            "The office moves to 14 Harbour Street on 1 July; same phone numbers, parking "
            "behind.", then=(kw("Will the phone numbers change?", "No, they stay the same.",
                                "no|same"),)),
        sim("Briefly, what does this say? 'The gym's pool is closed for repairs until further "
            "notice. The sauna and all classes continue as normal.'",
            "The pool is closed for repairs; sauna and classes carry on.",
            then=(kw("Can I still go to a yoga class?", "Yes, classes continue.", "yes",
                     task="yes_no"),))),
    fam("passage-emails", "summarise",
        sim("Summarise this email: 'Hi Sam, thanks for the draft. I like the new layout, but "
            "could you make the logo bigger and change the blue to green? I need it back by "
            "Thursday. Cheers, Priya.'",
            "Priya likes the layout but wants a bigger logo and green instead of blue, by "
            "Thursday.", then=(kw("What colour does she want instead of blue?", "Green.",
                                  "green"),)),
        sim("What does my boss want here? 'Please send me the sales figures for March before "
            "the meeting tomorrow at 10, and book the small meeting room.'",
            "Send March's sales figures before tomorrow's 10 o'clock meeting and book the small "
            "room.", then=(kw("Which month's figures?", "March.", "march"),)),
        sim("TL;DR please: 'Hey! We're doing a barbecue at ours on Saturday from 5. Bring "
            "something to drink if you can. Kids and dogs welcome. Let me know by Thursday if "
            "you're coming.'",
            "Barbecue Saturday from 5, bring a drink, kids and dogs welcome, reply by Thursday.",
            then=(kw("Can I bring my dog?", "Yes, dogs are welcome.", "yes", task="yes_no"),)),
        sim("Summarise: 'Your order #5521 has shipped and should arrive in 3 to 5 working days. "
            "You can track it with the link below. Returns are free within 30 days.'",
            "Order 5521 has shipped, arriving in 3-5 working days; free returns within 30 days.",
            then=(num("How many days do I have to return it for free?", "30 days.", 30),)),
        sim("Condense this: 'Just a reminder that your dental check-up is on Monday at 9:40. "
            "Please arrive 10 minutes early and bring your insurance card.'",
            "Dental check-up Monday 9:40; come 10 minutes early with your insurance card.",
            then=(kw("What should I bring?", "My insurance card.", "insurance"),))),
    fam("passage-stories", "summarise",
        sim("Summarise this story in one sentence: 'Lena found a lost puppy in the rain. She "
            "took it home, dried it, and put up posters. Two days later, a boy knocked on her "
            "door, crying with joy. It was his dog.'",
            "Lena rescued a lost puppy and returned it to its owner, a young boy.",
            then=(kw("Who did the puppy belong to?", "A boy.", "boy"),)),
        sim("Tell me briefly what happens: 'The old baker retired, and everyone feared the "
            "shop would close. But his granddaughter took over, kept his recipes, and added a "
            "few of her own.'",
            "The retiring baker's granddaughter took over the shop and kept it going.",
            then=(kw("Did the shop close?", "No.", "no", task="yes_no"),)),
        sim("Summarise: 'Marco trained for a year for his first marathon. On the day, he "
            "cramped at kilometre 30 but walked, then jogged, and finished in just under five "
            "hours.'",
            "Marco finished his first marathon in under five hours despite a cramp at km 30.",
            then=(num("At which kilometre did he get a cramp?", "30.", 30),))),
    fam("passage-rewrite-tone", "rewrite",
        sim("Make this text message friendlier: 'Meeting moved to 4. Don't be late.'",
            "Hi! Just so you know, the meeting's moved to 4. See you there!"),
        sim("Rewrite this review to sound more positive: 'The food was okay but the service "
            "was slow.'", "The food was good, and although the service was a little slow, it "
            "was a pleasant visit."),
        sim("Make this sound more confident: 'I think maybe I could possibly help with the "
            "project?'", "I'd be glad to help with the project."),
        sim("Rewrite this for a child: 'Precipitation is expected throughout the afternoon.'",
            "It's going to rain this afternoon."),
        sim("Turn these notes into a sentence: 'party - Sat - 7pm - Jo's house - bring "
            "snacks'", "There's a party at Jo's house on Saturday at 7 pm; please bring "
            "snacks."),
        sim("Write this as a tweet: 'We are pleased to announce that our new store in the city "
            "centre will open its doors next Monday.'",
            "Big news: our new city-centre store opens next Monday!"),
        sim("Turn this into a bullet list: 'You need flour, sugar, two eggs and some butter.'",
            "- Flour\n- Sugar\n- Two eggs\n- Butter"),
        sim("Rewrite in plain English: 'Kindly revert at your earliest convenience.'",
            "Please reply as soon as you can.")),
    fam("passage-write-short", "rewrite",
        sim("Write a two-line birthday message for my colleague Dan.",
            "Happy birthday, Dan! Wishing you a great day and a fantastic year ahead."),
        sim("Write a short thank-you note to my neighbour for watering my plants.",
            "Thank you so much for watering my plants while I was away. I really appreciate "
            "it!"),
        sim("Draft a one-sentence excuse for missing a yoga class.",
            "Sorry, I can't make yoga today because something urgent came up."),
        sim("Write a short out-of-office reply for my email.",
            "I'm out of the office until Monday with limited access to email. I'll reply when "
            "I'm back."),
        sim("Write a friendly reminder to my flatmate to take out the recycling.",
            "Hey, could you take the recycling out today? Thanks!"),
        sim("Write a title for a blog post about saving money on holidays.",
            "Travel More, Spend Less: Simple Ways to Save on Your Holidays"),
        sim("Give me a short caption for a photo of my dog at the beach.",
            "Sun, sand and a very happy dog!")),
)

"""Message bodies: ordinary work chat, and the varied wording of DPRK off-platform pushes.

Banks are built once from combinable parts (openers x content x closers) so the generator picks
bodies by index; there are hundreds of distinct variants per kind, never a single template.
"""

from __future__ import annotations

import itertools
import random

import pyarrow as pa

_GREET = ("Hi", "Hello", "Hey", "Good morning", "Hi there", "Thanks", "Quick update:", "", "Ok,")
_LEGIT_BODIES = (
    "can we move our call to {day} at {time}?",
    "I pushed the changes to the staging branch, please have a look when you can.",
    "the {thing} is done, I attached the files to this thread.",
    "could you clarify whether the {thing} should also work on mobile?",
    "I estimate about {n} more hours for the {thing}.",
    "I'll be offline {day} afternoon, back {day2} morning.",
    "the invoice for this week is in, {n} hours logged.",
    "please review milestone {n} and release the payment if all looks fine.",
    "I found a bug in the {thing}, fixing it now.",
    "what is the deadline for the {thing}?",
    "sent you the draft of the {thing}, feedback welcome.",
    "I need access to the {thing} repository to continue.",
    "let's keep the scope to the {thing} for this milestone.",
    "the client approved the {thing}, great work!",
    "can you share the design files for the {thing}?",
    "meeting notes from today are in the shared doc.",
    "I updated the estimate, the {thing} needs {n} more hours.",
    "deployed to production, monitoring for errors.",
    "tests are green now, ready for your review.",
    "could we do a short video call {day} to go through the {thing}?",
)
_THINGS = ("landing page", "API", "checkout flow", "dashboard", "logo", "blog post",
           "data pipeline", "mobile app", "smart contract", "report", "database migration",
           "onboarding screens", "admin panel", "translation", "video edit", "test suite")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "tomorrow")
_TIMES = ("9am", "10:30", "2pm", "3pm your time", "16:00 CET", "noon EST", "11am")

_OFF_OPEN = ("Hi", "Hello sir", "Dear client", "Hey", "Hi, thanks for the reply.", "Good day",
             "Hello friend", "Hi!", "Thanks for your offer.", "Hello, nice to meet you.")
_OFF_ASK = (
    "can we continue on {app}? my id is {handle}",
    "please add me on {app}: {handle}, it is easier to talk there",
    "I prefer to discuss details on {app} ({handle})",
    "my {app} is {handle}, message me there so we can move faster",
    "could you contact me on {app}? {handle}",
    "for quick communication use {app} {handle}",
    "platform chat is slow for me, reach me via {app} at {handle}",
    "let's talk on {app}, I will explain my plan there. ID: {handle}",
    "if you want we can do the payment outside to save the fees, ping me on {app} {handle}",
    "I am more active on {app}, my username is {handle}",
    "send me your {app} and I will contact you",
    "better we use {app} for daily sync, here is mine: {handle}",
)
_OFF_CLOSE = ("", " Thanks.", " Looking forward.", " Best regards.", " Waiting your reply.",
              " Have a nice day!", " Thank you so much.")
_APPS = ("Telegram", "telegram", "WhatsApp", "whatsapp", "Skype", "skype", "Discord",
         "Signal", "TG", "WA")
_HANDLE_A = ("dev", "alex", "kevin", "smart", "top", "pro", "senior", "crypto", "web3", "john",
             "mike", "david", "rich", "code", "full")
_HANDLE_B = ("_dev", "stack", "92", "_eng", "coder", "_work", "777", "master", ".it", "_sol",
             "88", "builder")

_EXCUSES = (
    "Sorry, my microphone is not working today, can we continue by chat?",
    "I have audio problems, my headset broke. Text is fine for me.",
    "My camera driver crashed, can we do it without video?",
    "Sorry the connection is bad here, video keeps freezing. Let's use chat please.",
    "I am in a noisy place, could we do the interview in text?",
    "My webcam is broken, I ordered a new one. Voice only is ok?",
    "Apologies, audio issues again. I will answer your questions here in writing.",
    "The internet in my area is unstable today, video is not possible.",
    "I prefer text interview so I can share code snippets easily.",
    "Sorry, mic not detected on my laptop. Can you type the questions?",
    "My English speaking is not perfect, chat is better for precise answers.",
    "Video call fails on my side, maybe firewall. Chat works well.",
)
_AUDIO_APOLOGY = (
    "Sorry about the audio earlier, my headset battery died mid-call. Happy to redo on video.",
    "Apologies for switching to voice, my laptop camera froze. Can we do a quick video tomorrow?",
    "Sorry for the bad sound today, the building Wi-Fi dropped. I'll join from home next time.",
    "My mic was acting up during the interview, sorry! Fixed it now, let me know if you want "
    "another call.",
)
_TG_DEV = (
    "The Telegram bot now answers /start and /help; the webhook runs on your server.",
    "I connected the Discord integration, new orders post to your #sales channel.",
    "Bot token is stored in the env file, not in the repo. Please rotate it after handover.",
    "Added inline keyboards to the Telegram bot for the order menu.",
    "The Discord slash command /status is live, try it in the test server.",
    "Telegram Bot API rate limits us to 30 msgs/s, I added a queue for broadcasts.",
    "Can you create the bot with BotFather and share the token through the platform vault?",
    "Webhook for the Discord integration verified, logs look clean.",
    "I wrote the README for deploying the Telegram bot with docker compose.",
    "The WhatsApp Business API template was approved, notifications go out tomorrow.",
    "Next milestone: payments inside the Telegram bot via Stripe.",
)


def _legit_bank() -> list[str]:
    rnd = random.Random(7)
    out = []
    for g, b in itertools.product(_GREET, _LEGIT_BODIES):
        body = b.format(day=rnd.choice(_DAYS), day2=rnd.choice(_DAYS), time=rnd.choice(_TIMES),
                        thing=rnd.choice(_THINGS), n=rnd.randint(2, 40))
        if not g:
            out.append(body[0].upper() + body[1:])
        else:
            out.append(f"{g} {body}" if g[-1] in ",:" else f"{g}, {body}")
    return out


def _off_platform_bank() -> list[str]:
    rnd = random.Random(11)
    out = set()
    for o, a in itertools.product(_OFF_OPEN, _OFF_ASK):
        for _ in range(3):
            handle = ("@" if rnd.random() < 0.6 else "") + rnd.choice(_HANDLE_A) + rnd.choice(
                _HANDLE_B)
            body = a.format(app=rnd.choice(_APPS), handle=handle)
            sep = " " if o[-1] in ".!," else ", "
            out.add(f"{o}{sep}{body}.{rnd.choice(_OFF_CLOSE)}".replace("..", "."))
    return sorted(out)


LEGIT = pa.array(_legit_bank(), pa.string())
OFF_PLATFORM = pa.array(_off_platform_bank(), pa.string())
EXCUSES = pa.array(_EXCUSES, pa.string())
AUDIO_APOLOGY = pa.array(_AUDIO_APOLOGY, pa.string())
TG_DEV = pa.array(_TG_DEV, pa.string())

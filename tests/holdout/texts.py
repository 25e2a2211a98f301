"""Free text for the Kestrel Gigs holdout (contract 1.1): profile summaries and cover letters.

Ordinary people write their own text from many small pieces (so two of them rarely match for
long), except the platform's "starter" summaries and blog-sample cover letters that many unrelated
people keep almost as they are. DPRK operations reuse one polished text across personas with small
edits (FBI PSA I-012325-PSA, Jan 2025: the same resume text and odd formatting across applicants).
"""

from __future__ import annotations

import random

ROLES = {
    "web": ("Full-stack web developer", "React / Next.js frontend developer",
            "PHP & WordPress developer", "Backend engineer (Node.js, Django)",
            "Shopify developer"),
    "mobile": ("Mobile developer (Flutter)", "iOS engineer (Swift, SwiftUI)",
               "Android developer (Kotlin)", "React Native developer"),
    "blockchain": ("Smart contract developer (Solidity)", "Web3 full-stack developer",
                   "Rust / Solana engineer"),
    "data": ("Data analyst (SQL, Power BI)", "Data engineer (Python, Airflow, dbt)",
             "Machine learning engineer", "Web scraping specialist"),
    "design": ("UI/UX designer", "Graphic designer", "Product designer (Figma)",
               "Brand & logo designer"),
    "devops": ("DevOps engineer (AWS, Terraform)", "Linux sysadmin",
               "Kubernetes / cloud engineer"),
    "qa": ("QA tester (manual & automated)", "Test automation engineer (Cypress, Playwright)",
           "Mobile app tester"),
    "automation": ("Automation specialist (Zapier, Make)", "Python automation & bots developer",
                   "RPA developer"),
    "cad": ("AutoCAD drafter", "Architectural 3D visualiser (Revit, SketchUp)",
            "Mechanical CAD designer (SolidWorks)"),
    "accounting": ("Bookkeeper (QuickBooks, Xero)", "Accountant and tax preparer",
                   "Financial analyst / Excel modeller"),
    "writing": ("Technical writer", "Copywriter and content writer", "SEO blog writer",
                "Translator EN/ES"),
}
CATW = {"web": "website", "mobile": "app", "blockchain": "smart contract", "data": "data",
        "design": "design", "devops": "infrastructure", "qa": "testing",
        "automation": "automation", "cad": "drawing", "accounting": "bookkeeping",
        "writing": "writing"}
CITY = {"US": "Austin", "CA": "Toronto", "GB": "Leeds", "IE": "Cork", "AU": "Brisbane",
        "DE": "Leipzig", "NL": "Utrecht", "FR": "Lyon", "ES": "Valencia", "IT": "Bologna",
        "PT": "Porto", "PL": "Wrocław", "RO": "Cluj-Napoca", "UA": "Lviv", "SE": "Malmö",
        "CH": "Basel", "BR": "Curitiba", "MX": "Guadalajara", "AR": "Córdoba", "CO": "Medellín",
        "CL": "Valparaíso", "PE": "Arequipa", "PH": "Cebu", "VN": "Da Nang", "ID": "Bandung",
        "MY": "Penang", "TH": "Chiang Mai", "SG": "Singapore", "JP": "Fukuoka", "KR": "Busan",
        "TW": "Taichung", "IN": "Pune", "PK": "Lahore", "BD": "Dhaka", "NG": "Lagos",
        "EG": "Alexandria", "KE": "Nairobi", "AE": "Dubai", "IL": "Haifa"}
PROFILE_OPEN = ("{role} based in {place}.", "Hi, I'm {first}, a {role_l} from {place}.",
                "{role} | {years} years | {place}", "I'm a {role_l} living in {place}.",
                "{role}. {years}+ years, remote since {since}.")
PROFILE_MID = (
    "I have {years} years of experience, most recently {recent}.",
    "Over the last {years} years I have been {recent}.",
    "Before freelancing I spent {y2} years at {employer}.",
    "Lately I've been {recent}, and I enjoy {likes}.",
    "Most of my clients come back for a second project.",
    "I studied {study} and moved into this work in {since}.",
    "Tools I use every day: {tools}.",
)
RECENT = ("building booking systems for small hotels", "working with two e-commerce startups",
          "maintaining a SaaS dashboard used by 3k people",
          "helping local businesses get online", "shipping features for a logistics company",
          "leading a small team at an agency", "cleaning up legacy code nobody wanted to touch",
          "doing monthly retainers for a Dutch marketing agency")
EMPLOYERS = ("a bank", "a telecom company", "a local agency", "an e-commerce startup",
             "a university lab", "a game studio", "a hospital's IT department",
             "a car parts distributor")
LIKES = ("clear specs", "fixing slow pages", "long-term projects", "teaching clients the tools",
         "tidy spreadsheets", "good coffee and hard bugs", "small teams")
STUDY = ("physics", "economics", "civil engineering", "graphic arts", "computer science",
         "languages", "architecture", "nothing related - I'm self-taught")
TOOLS = ("VS Code, Git, Docker", "Figma, Notion", "Excel, Power Query", "Jira, Postman",
         "AutoCAD, Revit", "Xero, QuickBooks", "Google Docs, Grammarly", "PyCharm, Linux")
PROFILE_CLOSE = ("Happy to jump on a call.", "I reply within a few hours on weekdays.",
                 "Let's talk about your project!", "Available {hrs} h/week.", "",
                 "Portfolio on request.", "No agencies please.", "Thanks for reading :)")
CLIENT_BLURBS = ("We are a small {kind} based in {place}. We hire freelancers for {catw} work.",
                 "{kind} in {place}, 12 people. Long-term work for reliable people.",
                 "Founder of a {kind}. I post {catw} jobs a few times a year.",
                 "Agency ({kind}). Please read the job post fully before applying.")
CLIENT_KINDS = ("online shop", "marketing agency", "dental clinic group", "SaaS startup",
                "real estate office", "non-profit", "logistics company", "game studio")
# The platform's own "starter" summaries: many unrelated freelancers keep them almost as-is.
STARTER = (
    "Hello! I am a hard-working and reliable {role_l} with {years}+ years of experience. I "
    "always deliver high quality work on time and within budget. Customer satisfaction is my "
    "top priority. Feel free to contact me and let's discuss your project!",
    "Welcome to my profile! I am a professional {role_l}. My goal is to provide the best quality "
    "service and build long-term relationships with my clients. I am available for both short "
    "and long term projects. Thank you for visiting my profile.",
    "I am a {role_l} with strong attention to detail and excellent communication skills. I "
    "believe in honesty, quality and timely delivery. If you are looking for someone reliable, "
    "you are in the right place. Let's work together!",
)
GENERIC_COVER = (  # sample cover letters copied from "how to win your first job" blog posts
    "Dear Hiring Manager, I am writing to express my interest in your project. I have read the "
    "job description carefully and I am confident that my skills and experience make me a "
    "perfect fit. I can start immediately and deliver high quality results on time. Looking "
    "forward to hearing from you. Best regards, {first}",
    "Hello, I have carefully read your job post and I understand your requirements. I have done "
    "similar work before and I can complete it quickly and professionally. Please check my "
    "profile and feel free to message me. Thank you, {first}",
)
COVER_GREET = ("Hi {client},", "Hello!", "Hi there,", "Hola {client},", "Good morning,",
               "Hey {client} -", "")
COVER_BODY = (
    "I've done {n} similar {catw} jobs, the last one was {recent}.",
    "Your {catw} project looks interesting; I can start {when}.",
    "I'd approach it by first {step}, then {step2}.",
    "Quick question before I estimate: {question}",
    "I'm currently free for about {hrs} hours a week.",
    "A relevant sample is in the portfolio section of my profile.",
    "I think {est} hours is realistic for the first version.",
    "I live in {place}, so we'd overlap in the {part} most days.",
)
STEPS = ("reviewing the existing code", "setting up a staging copy",
         "agreeing the scope in a short call", "writing a short spec", "fixing the urgent bug",
         "checking the data you already have", "making a rough sketch")
QUESTIONS = ("is there an existing design?", "which hosting do you use?",
             "do you need ongoing support after launch?", "is the deadline flexible?",
             "who will test it on your side?", "do you have the source files?")
COVER_CLOSE = ("Thanks, {first}", "Best, {first}", "Cheers!", "Saludos, {first}", "{first}",
               "Thank you for your time.")
DPRK_PROFILE = (
    "Senior full-stack engineer with {years}+ years of experience building scalable web and "
    "mobile applications for startups and enterprises.",
    "I specialise in React, Next.js, Node.js, NestJS and TypeScript, and I am comfortable with "
    "Python, Go and Solidity.",
    "Recently I led the development of a DeFi dashboard and a cross-chain NFT marketplace with "
    "over $20M in volume.",
    "I have worked with clients in the US, Europe and Japan and I always communicate "
    "proactively and overlap with your working hours.",
    "My strengths: clean architecture, CI/CD on AWS and GCP, automated tests and pixel-perfect "
    "UI from Figma.",
    "I can start immediately and work 40+ hours per week as a long-term member of your team.",
    "Previously I was a lead developer at a fintech company where I built payment integrations "
    "with Stripe, Plaid and Circle.",
    "I take ownership of the product from the first commit to the production release and "
    "beyond.",
    "Blockchain: Ethereum, Solana, BSC, Hardhat, Foundry, web3.js, ethers.js, The Graph.",
    "Mobile: React Native, Flutter, Swift; several apps published on the App Store and Google "
    "Play.",
    "Your satisfaction is my top priority and I am happy to do a free trial task.",
)
DPRK_COVER = (
    "Hi there, I read your job post carefully and I am very interested.",
    "I have {years}+ years of experience in exactly this kind of work, including {catw} "
    "projects for US clients.",
    "I have just finished a very similar project, so I can deliver fast and with high quality.",
    "I am available full-time and can overlap with your time zone.",
    "My rate is flexible and I can start right away.",
    "Could we chat here first? I prefer text to clarify the details quickly.",
    "I will provide daily updates and clean, well-documented code.",
    "I am confident I am the best fit for this role.",
)
SYNONYMS = (("experience", "expertise"), ("building", "developing"), ("clients", "customers"),
            ("immediately", "right away"), ("very", "really"), ("projects", "products"),
            ("happy", "glad"), ("I am", "I'm"), ("startups", "start-ups"),
            ("high quality", "top quality"), ("carefully", "attentively"),
            ("scalable", "robust"), ("Hi there", "Hello"))


def edit_text(text: str, rng: random.Random, k: int) -> str:
    """A few small edits (synonyms, a dropped sentence, a typo): a reused text, lightly changed."""
    for _ in range(k):
        op = rng.random()
        if op < 0.5:
            a, b = rng.choice(SYNONYMS)
            text = text.replace(a, b, 1) if a in text else text.replace(b, a, 1)
        elif op < 0.7:
            parts = text.split(". ")
            if len(parts) > 4:
                del parts[rng.randrange(1, len(parts) - 1)]
                text = ". ".join(parts)
        elif op < 0.9:
            words = text.split(" ")
            j = rng.randrange(len(words))
            w = words[j]
            if len(w) > 4 and "{" not in w and "}" not in w:  # never a {placeholder}
                m = rng.randrange(1, len(w) - 2)
                words[j] = w[:m] + w[m + 1] + w[m] + w[m + 2:]
            text = " ".join(words)
        else:
            text = text.replace(". ", ".  ", 1)  # a double space: the odd formatting
    return text

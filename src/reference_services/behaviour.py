"""The deterministic business logic of the six reference services.

Every answer is a pure function of the request's business content: the generator behind the
wording is seeded from the SHA-256 of the canonical JSON of the request, without its ids and
timestamps (`artifact_id`, `produced_at`, `published_at`, `publication_id`, `campaign_id`,
`quality_report_id`). Two requests that differ only in those get the same copy. Only these differ:
`artifact_id` (uuid5 of the service and the Idempotency-Key: stable for a request and its
retries), `publication_id` (derived from the artifact id) and the timestamps (service clock).

The quality gate, and how a failed gate is recovered
----------------------------------------------------
The strategy service lists guardrails: the unsubstantiated claims `UNSUBSTANTIATED_CLAIMS`
("guaranteed", "guarantee", "risk-free", "risk free", "no risk", "100%", "miracle") and the brand
phrases `BRAND_GUARDRAILS` ("click here", "act now", "cheap").

The quality service audits each piece: `unsubstantiated_claims` (CRITICAL) fails when a claim of
`UNSUBSTANTIATED_CLAIMS` appears (whole word, case-insensitive), `brand_guardrails` (WARNING) for
any other guardrail of the strategy, `placeholders` (CRITICAL) for left-over "lorem ipsum",
"TODO", "TBD", "{{...}}" or "[insert ...]", `call_to_action` (WARNING), `length_limits` (WARNING,
per `CHANNEL_LIMITS`); then `channel_coverage` (CRITICAL: a piece per strategy channel),
`keyword_coverage` (INFO) and `locale` (INFO). The verdict is FAIL iff a CRITICAL check failed.
A failed check quotes the phrases it flags in double quotes in its message.

THE CRITICAL TRIGGER. When the brief's objective (or a keyword, or its name) contains an
unsubstantiated claim, e.g. "Grow sign-ups with guaranteed savings", the content service's first
draft (revision 0, no feedback) leads every piece with that claim taken verbatim from the brief,
so the audit fails `unsubstantiated_claims` (CRITICAL) and the verdict is FAIL.

THE REVISION. Called with `feedback` (the failed QualityReport) or a `reviewer_comment`, and
`revision` >= 1, the content service revises the draft: it replaces or removes every phrase
quoted by the feedback's failed checks or in double quotes in the reviewer's comment, every
guardrail of `strategy.guardrails` and every claim of `UNSUBSTANTIATED_CLAIMS` ("guaranteed" ->
"targeted", "risk-free" -> "flexible", "100%" -> "fully", ...; `SAFER_WORDING`), so the next
audit passes. This is how an operator's `retry` after a failed quality gate leads to
a publication.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from pydantic import BaseModel

from contracts.artifacts import (
    ContentPiece,
    LearningSummary,
    ProducedContent,
    PublishedItem,
    PublishReceipt,
    QualityCheck,
    QualityReport,
    StrategyBrief,
    Trend,
    TrendReport,
)
from contracts.base import canonical_json
from contracts.brief import CampaignBrief
from contracts.enums import Channel, QualityVerdict, ServiceName, Severity
from contracts.services import (
    AuditRequest,
    ContentRequest,
    LearnRequest,
    PublishRequest,
    RadarScanRequest,
    StrategyRequest,
)

ARTIFACT_NAMESPACE = uuid5(NAMESPACE_URL, "https://reference-services.invalid/artifacts")

UNSUBSTANTIATED_CLAIMS: tuple[str, ...] = (
    "guaranteed",
    "guarantee",
    "risk-free",
    "risk free",
    "no risk",
    "100%",
    "miracle",
)
BRAND_GUARDRAILS: tuple[str, ...] = ("click here", "act now", "cheap")
SAFER_WORDING: dict[str, str] = {
    "guaranteed": "targeted",
    "guarantee": "commitment",
    "risk-free": "flexible",
    "risk free": "flexible",
    "no risk": "low commitment",
    "100%": "fully",
    "miracle": "standout",
    "click here": "see the details",
    "act now": "take a look",
    "cheap": "affordable",
}


@dataclass(frozen=True)
class ChannelLimits:
    headline: int
    body: int
    call_to_action: int


CHANNEL_LIMITS: dict[Channel, ChannelLimits] = {
    Channel.EMAIL: ChannelLimits(headline=78, body=2000, call_to_action=40),
    Channel.SOCIAL: ChannelLimits(headline=100, body=280, call_to_action=30),
    Channel.BLOG: ChannelLimits(headline=120, body=12_000, call_to_action=60),
    Channel.SEARCH_ADS: ChannelLimits(headline=30, body=90, call_to_action=25),
}

PUBLICATION_HOSTS: dict[Channel, str] = {
    Channel.EMAIL: "mail.example.com/campaigns",
    Channel.SOCIAL: "social.example.com/posts",
    Channel.BLOG: "blog.example.com/posts",
    Channel.SEARCH_ADS: "ads.example.com/ads",
}

# Calls to action by language and intent (the copy itself is English).
_CTAS: dict[str, dict[str, str]] = {
    "en": {
        "event": "Save your seat",
        "trial": "Start your free trial",
        "download": "Download the guide",
        "contact": "Talk to our team",
        "shop": "Shop the collection",
        "learn": "Learn more",
    },
    "es": {
        "event": "Reserva tu plaza",
        "trial": "Empieza tu prueba gratis",
        "download": "Descarga la guía",
        "contact": "Habla con el equipo",
        "shop": "Compra la colección",
        "learn": "Más información",
    },
    "fr": {
        "event": "Réserver ma place",
        "trial": "Essai gratuit",
        "download": "Télécharger le guide",
        "contact": "Contacter l'équipe",
        "shop": "Découvrir la collection",
        "learn": "En savoir plus",
    },
    "de": {
        "event": "Platz sichern",
        "trial": "Jetzt kostenlos testen",
        "download": "Leitfaden laden",
        "contact": "Team kontaktieren",
        "shop": "Kollektion entdecken",
        "learn": "Mehr erfahren",
    },
    "pt": {
        "event": "Reserve sua vaga",
        "trial": "Comece o teste grátis",
        "download": "Baixe o guia",
        "contact": "Fale com a equipe",
        "shop": "Veja a coleção",
        "learn": "Saiba mais",
    },
    "it": {
        "event": "Prenota il tuo posto",
        "trial": "Inizia la prova gratuita",
        "download": "Scarica la guida",
        "contact": "Parla con il team",
        "shop": "Scopri la collezione",
        "learn": "Scopri di più",
    },
}
_INTENT_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("event", ("webinar", "event", "conference", "summit", "workshop", "register")),
    ("trial", ("trial", "sign-up", "signup", "sign up", "subscri", "onboard", "activation")),
    ("download", ("download", "ebook", "e-book", "whitepaper", "guide", "install")),
    ("contact", ("lead", "demo", "pipeline", "b2b", "meeting")),
    ("shop", ("sale", "sales", "buy", "purchase", "revenue", "shop", "order", "discount")),
)
_LANGUAGE_MARKERS: dict[str, frozenset[str]] = {
    "en": frozenset("the and for with your you is are to of that this it".split()),
    "es": frozenset("el la los las y para con tu es que de en una".split()),
    "fr": frozenset("le la les et pour avec vous est que de des une".split()),
    "de": frozenset("der die das und für mit sie ist zu ein eine nicht".split()),
    "pt": frozenset("o os as e para com você é que de em uma".split()),
    "it": frozenset("il lo la gli e per con tu è che di una".split()),
}
_STOPWORDS = frozenset(
    """about above after again against because before being below between could doing during
    every further having other our ours ourselves should their theirs them themselves there these
    they those through under until very what when where which while whom would your yours
    yourself increase improve drive grow boost raise launch reach achieve more less than with
    from into within across people""".split()
)
_SOURCES = (
    "Google Trends",
    "Search Console",
    "Reddit",
    "LinkedIn",
    "TikTok Creative Center",
    "YouTube",
    "Industry newsletters",
    "Review sites",
)
_KEYWORD_ANGLES = (
    "adoption",
    "buying intent",
    "comparisons",
    "how-to searches",
    "community buzz",
    "price sensitivity",
    "expert reviews",
    "first-time buyers",
)
_CHANNEL_TRENDS: dict[Channel, str] = {
    Channel.EMAIL: "Personalised lifecycle email journeys",
    Channel.SOCIAL: "Short-form video hooks in the first two seconds",
    Channel.BLOG: "Long-form expert guides that answer one question well",
    Channel.SEARCH_ADS: "High-intent, question-style search queries",
}
_AUDIENCE_SIGNALS = (
    "{aud} open email most between 7 and 9 am local time",
    "{aud} respond better to concrete numbers than to adjectives",
    "{aud} compare at least three options before deciding",
    "{aud} trust peer reviews more than brand claims",
    "{aud} mostly read on mobile, in short sessions",
    "{aud} share practical checklists with colleagues",
    "{aud} ignore generic discounts but act on time-limited trials",
)
_FILLERS = (
    "Teams that start small and measure weekly see the clearest gains.",
    "The fastest wins usually come from fixing the basics first.",
    "Start with one workflow, prove the value, then expand.",
    "Clear numbers beat big adjectives every time.",
    "What matters is the result you can show next month, not next year.",
)
_PLACEHOLDER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"lorem ipsum", re.IGNORECASE),
    re.compile(r"\{\{[^}]*\}\}"),
    re.compile(r"\[insert[^\]]*\]", re.IGNORECASE),
    re.compile(r"\bTODO\b"),
    re.compile(r"\bTBD\b"),
)
_QUOTED = re.compile(r'"([^"\n]{1,200})"')


# --- hashing and ids ---------------------------------------------------------------------------


def request_hash(request: BaseModel) -> str:
    """SHA-256 of the whole request: what the idempotency ledger compares."""
    return hashlib.sha256(canonical_json(request.model_dump(mode="json")).encode()).hexdigest()


_VOLATILE_KEYS = frozenset(
    {
        "artifact_id",
        "produced_at",
        "published_at",
        "publication_id",
        "campaign_id",
        "quality_report_id",
    }
)


def _without_volatile(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _without_volatile(v) for k, v in data.items() if k not in _VOLATILE_KEYS}
    if isinstance(data, list):
        return [_without_volatile(v) for v in data]
    return data


def content_seed(service: ServiceName, request: BaseModel) -> int:
    """The seed of the wording: the request's business content, without ids and timestamps."""
    text = f"{service.value}|{canonical_json(_without_volatile(request.model_dump(mode='json')))}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def artifact_id_for(service: ServiceName, idempotency_key: str) -> UUID:
    return uuid5(ARTIFACT_NAMESPACE, f"{service.value}:{idempotency_key}")


# --- text helpers ------------------------------------------------------------------------------


def clip(text: str, limit: int) -> str:
    """One line of at most `limit` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-—") + "…"


def assemble(parts: Iterable[str], limit: int, sep: str) -> str:
    """Join parts in order, skipping those that no longer fit; clip the first if it must."""
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        candidate = sep.join([*out, part])
        if len(candidate) <= limit:
            out.append(part)
        elif not out:
            out.append(clip(part, limit))
    return sep.join(out)


def lower_first(text: str) -> str:
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        return text[0].lower() + text[1:]
    return text


def upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…" else text + "."


def slugify(text: str, limit: int = 60) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "campaign"


def hashtag(text: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", text)
    return "#" + "".join(upper_first(w) for w in words) if words else ""


@lru_cache(maxsize=1024)
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """Whole-phrase, case-insensitive: "guarantee" does not match inside "guaranteed"."""
    body = r"\s+".join(re.escape(part) for part in phrase.split())
    start = r"(?<!\w)" if re.match(r"\w", phrase) else ""
    end = r"(?!\w)" if re.search(r"\w$", phrase) else ""
    return re.compile(start + body + end, re.IGNORECASE)


def find_phrases(text: str, phrases: Iterable[str]) -> list[str]:
    """The phrases (as given, deduplicated, in order) that occur in the text."""
    found: list[str] = []
    seen: set[str] = set()
    for phrase in phrases:
        phrase = phrase.strip()
        if phrase and phrase.lower() not in seen and phrase_pattern(phrase).search(text):
            found.append(phrase)
            seen.add(phrase.lower())
    return found


def replace_phrases(text: str, phrases: Iterable[str]) -> str:
    """Replace each phrase with its safer wording (or remove it), longest phrases first."""
    unique = sorted({p.strip() for p in phrases if p.strip()}, key=len, reverse=True)
    for _ in range(3):  # a replacement never reintroduces a phrase, but be sure
        before = text
        for phrase in unique:
            text = phrase_pattern(phrase).sub(SAFER_WORDING.get(phrase.lower(), ""), text)
        if text == before:
            break
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"[ \t]{2,}", " ", line)
        line = re.sub(r" +([.,;:!?])", r"\1", line)
        line = re.sub(r"([.,;:!?])\1+", r"\1", line)
        lines.append(line.strip())
    return "\n".join(lines).strip()


def quoted_phrases(report: QualityReport) -> list[str]:
    """The phrases a report flags: the double-quoted strings of its failed checks' messages."""
    found: list[str] = []
    for check in report.checks:
        if not check.passed:
            for phrase in _QUOTED.findall(check.message):
                if phrase.strip() and phrase not in found:
                    found.append(phrase.strip())
    return found


def language(locale: str) -> str:
    return locale.split("-", 1)[0]


def call_to_action(brief: CampaignBrief) -> str:
    text = " ".join([brief.objective, *brief.keywords]).lower()
    intent = next((name for name, hints in _INTENT_HINTS if any(h in text for h in hints)), "learn")
    return _CTAS.get(language(brief.locale), _CTAS["en"])[intent]


def topic_keywords(brief: CampaignBrief) -> list[str]:
    """The brief's keywords, or up to three salient words of its objective and name."""
    if brief.keywords:
        return list(brief.keywords)
    found: list[str] = []
    for word in re.findall(r"[A-Za-z][A-Za-z'-]{4,}", f"{brief.objective} {brief.name}"):
        lowered = word.lower().strip("'-")
        if (
            lowered in _STOPWORDS
            or lowered in found
            or find_phrases(lowered, UNSUBSTANTIATED_CLAIMS)
        ):
            continue
        found.append(lowered)
        if len(found) == 3:
            break
    return found or [clip(brief.name.lower(), 60)]


def audience_short(brief: CampaignBrief) -> str:
    return lower_first(clip(brief.audience, 60))


def risky_claim(brief: CampaignBrief, budget: int) -> str | None:
    """The brief's first unsubstantiated claim, as a sentence taken from the brief (or None)."""
    for text in (brief.objective, *brief.keywords, brief.name):
        for phrase in UNSUBSTANTIATED_CLAIMS:
            match = phrase_pattern(phrase).search(text)
            if match is None:
                continue
            core = match.group(0)
            left = text[: match.start()].split()
            right = text[match.end() :].split()
            window = core
            while left or right:
                grown = False
                if right and len(window) + 1 + len(right[0]) <= budget - 1:
                    window = f"{window} {right.pop(0)}"
                    grown = True
                if left and len(window) + 1 + len(left[-1]) <= budget - 1:
                    window = f"{left.pop()} {window}"
                    grown = True
                if not grown:
                    break
            return sentence(upper_first(window.rstrip(",;:")))
    return None


# --- RADAR ------------------------------------------------------------------------------------


def radar_scan(
    req: RadarScanRequest, rng: random.Random, artifact_id: UUID, now: datetime
) -> TrendReport:
    brief = req.brief
    keywords = topic_keywords(brief)
    safe_keywords = [replace_phrases(k, UNSUBSTANTIATED_CLAIMS) or k for k in keywords]
    trends: list[Trend] = []
    angles = list(_KEYWORD_ANGLES)
    rng.shuffle(angles)
    for i, keyword in enumerate(safe_keywords[:6]):
        trends.append(
            Trend(
                topic=clip(f"{upper_first(keyword)} {angles[i % len(angles)]}", 200),
                score=round(rng.uniform(0.62, 0.96), 3),
                source=rng.choice(_SOURCES),
            )
        )
    aud = audience_short(brief)
    trends.append(
        Trend(
            topic=clip(f"What {aud} ask before they buy", 200),
            score=round(rng.uniform(0.5, 0.8), 3),
            source=rng.choice(_SOURCES),
        )
    )
    for channel in brief.channels:
        trends.append(
            Trend(
                topic=_CHANNEL_TRENDS[channel],
                score=round(rng.uniform(0.3, 0.65), 3),
                source=rng.choice(_SOURCES),
            )
        )
    trends.sort(key=lambda t: (-t.score, t.topic))
    signals = rng.sample(_AUDIENCE_SIGNALS, k=3 + rng.randrange(2))
    return TrendReport(
        artifact_id=artifact_id,
        produced_at=now,
        trends=trends[:50],
        audience_signals=[clip(upper_first(s.format(aud=aud)), 300) for s in signals],
    )


# --- STRATEGY ----------------------------------------------------------------------------------


def strategy_brief(
    req: StrategyRequest, rng: random.Random, artifact_id: UUID, now: datetime
) -> StrategyBrief:
    brief = req.brief
    safe = list(UNSUBSTANTIATED_CLAIMS) + list(BRAND_GUARDRAILS)
    keywords = [replace_phrases(k, safe) or k for k in topic_keywords(brief)]
    aud = audience_short(brief)
    top = sorted(req.trend_report.trends, key=lambda t: -t.score)
    t1 = lower_first(top[0].topic)
    t2 = lower_first(top[1].topic) if len(top) > 1 else t1
    name = clip(brief.name, 80)
    objective = lower_first(clip(brief.objective.rstrip("."), 300))
    audience = lower_first(clip(brief.audience, 200))
    positioning = replace_phrases(
        f"For {audience}, {name} is the practical way to {objective}. "
        f"It turns {t1} into measurable results, grounded in {t2}.",
        safe,
    )
    pool = [
        f"{name} is made for {aud}: {keywords[0]} without the busywork.",
        f"Why now: {t1} is changing how {aud} decide.",
        f"Proof over promises: real outcomes on {keywords[1 % len(keywords)]}, in numbers.",
        f"Start in minutes, see results in weeks, with {name}.",
        f"Built around what {aud} actually ask: {t2}.",
    ]
    first, rest = pool[0], pool[1:]
    rng.shuffle(rest)
    key_messages = [clip(replace_phrases(m, safe), 300) for m in [first, *rest[:3]]]

    constraints: list[str] = []
    if brief.budget > 0:
        constraints.append(f"Total budget {brief.budget:,.2f} (account currency); never exceed it.")
        weights = [rng.uniform(1.0, 3.0) for _ in brief.channels]
        total = sum(weights)
        for channel, weight in zip(brief.channels, weights, strict=True):
            share = weight / total
            constraints.append(
                f"{channel.value}: {share:.0%} of the budget ({brief.budget * share:,.2f})."
            )
    else:
        constraints.append("No paid budget: organic distribution only.")
    for channel in brief.channels:
        limits = CHANNEL_LIMITS[channel]
        constraints.append(
            f"{channel.value}: headline <= {limits.headline} chars, body <= {limits.body} chars, "
            f"call to action <= {limits.call_to_action} chars."
        )
    constraints.append(f"Write for the {brief.locale} locale.")
    constraints.append("Legal: every claim must be substantiated; no absolute promises.")
    return StrategyBrief(
        artifact_id=artifact_id,
        produced_at=now,
        positioning=clip(positioning, 2000),
        key_messages=key_messages,
        channels=list(brief.channels),
        constraints=constraints,
        guardrails=[*UNSUBSTANTIATED_CLAIMS, *BRAND_GUARDRAILS],
    )


# --- CONTENT -----------------------------------------------------------------------------------


def _draft(
    channel: Channel,
    brief: CampaignBrief,
    strategy: StrategyBrief,
    rng: random.Random,
    claim: str | None,
    avoid: Sequence[str] = (),
) -> tuple[str, str, str]:
    """Headline, body and call to action of one piece, before clipping (and revising)."""
    limits = CHANNEL_LIMITS[channel]
    keywords = [k for k in (replace_phrases(k, avoid) for k in topic_keywords(brief)) if k]
    keywords = keywords or ["what is new"]
    kw0 = keywords[0]
    aud = audience_short(brief)
    name = clip(brief.name, 80)
    km = strategy.key_messages
    cta = call_to_action(brief)

    if channel is Channel.EMAIL:
        headline = rng.choice(
            [
                f"{name}: {kw0} made simple",
                f"{upper_first(kw0)} for {aud}",
                f"{aud.capitalize()}, this one is for you",
            ]
        )
        parts = [
            "Hi there,",
            claim or "",
            km[0],
            km[1 % len(km)] if len(km) > 1 else "",
            f"Built for {aud}, {name} focuses on what matters: {', '.join(keywords[:4])}.",
            km[2] if len(km) > 2 else "",
            f"Ready when you are: {cta}.",
            f"— The {name} team",
        ]
        body = assemble(parts, limits.body, "\n\n")
    elif channel is Channel.SOCIAL:
        headline = f"{upper_first(kw0)} is trending. Here is how {name} helps"
        tags = " ".join(h for h in (hashtag(k) for k in keywords[:3]) if h)
        parts = [claim or "", km[rng.randrange(len(km))], tags]
        body = assemble(parts, limits.body, " ")
    elif channel is Channel.BLOG:
        headline = rng.choice(
            [
                f"How {aud} can turn {kw0} into results",
                f"{upper_first(kw0)}: a practical guide for {aud}",
                f"What {aud} should know about {kw0}",
            ]
        )
        paragraphs = [
            f"{upper_first(aud)} are asked to do more with less. {strategy.positioning}",
            claim or "",
            *(f"{message} {rng.choice(_FILLERS)}" for message in km),
            f"Key topics in this guide: {', '.join(keywords)}.",
            f"{name} is ready when you are. {cta}.",
        ]
        body = assemble(paragraphs, limits.body, "\n\n")
    else:  # search ads
        headline = f"{upper_first(kw0)} | {name}"
        body = assemble([claim or "", km[0], f"{cta}."], limits.body, " ")
    return headline, body, cta


def _fit(channel: Channel, headline: str, body: str, cta: str, fallback: str) -> ContentPiece:
    limits = CHANNEL_LIMITS[channel]
    body = body if len(body) <= limits.body else clip(body, limits.body)
    return ContentPiece(
        channel=channel,
        headline=clip(headline, limits.headline) or clip(fallback, limits.headline),
        body=body or clip(fallback, limits.body),
        call_to_action=clip(cta, limits.call_to_action) or "Learn more",
    )


def produce_content(
    req: ContentRequest, rng: random.Random, artifact_id: UUID, now: datetime
) -> ProducedContent:
    brief, strategy = req.brief, req.strategy
    revising = (req.feedback is not None or bool(req.reviewer_comment)) and req.revision >= 1
    phrases: list[str] = []
    if revising:
        audited = quoted_phrases(req.feedback) if req.feedback is not None else []
        # A reviewer's comment: the phrases it quotes go too ("drop \"guaranteed\"").
        reviewed = re.findall(r'"([^"]+)"', req.reviewer_comment or "")
        phrases = [*audited, *reviewed, *strategy.guardrails, *UNSUBSTANTIATED_CLAIMS]
    pieces: list[ContentPiece] = []
    for channel in strategy.channels:
        limits = CHANNEL_LIMITS[channel]
        claim = risky_claim(brief, budget=min(limits.body, 160))
        headline, body, cta = _draft(channel, brief, strategy, rng, claim, phrases)
        fallback = clip(brief.name, 80)
        if revising:
            headline = replace_phrases(headline, phrases)
            body = replace_phrases(body, phrases)
            cta = replace_phrases(cta, phrases)
            fallback = replace_phrases(fallback, phrases) or "News from our team"
        pieces.append(_fit(channel, headline, body, cta, fallback))
    return ProducedContent(
        artifact_id=artifact_id, produced_at=now, revision=req.revision, pieces=pieces
    )


# --- QUALITY -----------------------------------------------------------------------------------


def _quote(phrases: Sequence[str]) -> str:
    return ", ".join(f'"{p}"' for p in phrases)


def _with_hashtag_words(text: str) -> str:
    """The text, plus the words of its hashtags (#GuaranteedResults -> Guaranteed Results)."""
    words = [
        re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", tag).replace("_", " ")
        for tag in re.findall(r"#(\w+)", text)
    ]
    return text + ("\n" + "\n".join(words) if words else "")


def _detected_language(text: str) -> str | None:
    words = re.findall(r"\w+", text.lower())
    scores = {
        lang: sum(1 for w in words if w in markers) for lang, markers in _LANGUAGE_MARKERS.items()
    }
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= 3 else None


def audit(req: AuditRequest, rng: random.Random, artifact_id: UUID, now: datetime) -> QualityReport:
    del rng  # the audit is rule-based
    content, strategy, brief = req.content, req.strategy, req.brief
    claims = UNSUBSTANTIATED_CLAIMS
    brand = [g for g in strategy.guardrails if g.strip() and g.lower() not in claims]
    checks: list[QualityCheck] = []

    def check(
        name: str, passed: bool, severity: Severity, message: str, channel: Channel | None = None
    ) -> None:
        checks.append(
            QualityCheck(
                name=name,
                passed=passed,
                severity=severity,
                message=clip(message, 2000),
                channel=channel,
            )
        )

    for piece in content.pieces:
        text = _with_hashtag_words(f"{piece.headline}\n{piece.body}\n{piece.call_to_action}")
        found = find_phrases(text, claims)
        check(
            "unsubstantiated_claims",
            not found,
            Severity.CRITICAL,
            f"Unsubstantiated claim(s) {_quote(found)}: remove them or substantiate them."
            if found
            else "No unsubstantiated claims.",
            piece.channel,
        )
        found = find_phrases(text, brand)
        check(
            "brand_guardrails",
            not found,
            Severity.WARNING,
            f"Brand guardrail phrase(s) {_quote(found)} in the copy."
            if found
            else "No brand guardrail phrases.",
            piece.channel,
        )
        placeholders: list[str] = []
        for pattern in _PLACEHOLDER_PATTERNS:
            for match in pattern.finditer(text):
                if match.group(0) not in placeholders:
                    placeholders.append(match.group(0))
        check(
            "placeholders",
            not placeholders,
            Severity.CRITICAL,
            f"Unfinished copy: placeholder(s) {_quote(placeholders)}."
            if placeholders
            else "No placeholders left.",
            piece.channel,
        )
        cta = piece.call_to_action.strip()
        cta_ok = len(re.findall(r"[^\W\d_]", cta)) >= 2 and cta.lower().strip(".! ") not in {
            "tbd",
            "todo",
            "n/a",
            "cta",
            "none",
            "xxx",
        }
        check(
            "call_to_action",
            cta_ok,
            Severity.WARNING,
            "Call to action present." if cta_ok else "The call to action is missing or a stub.",
            piece.channel,
        )
        limits = CHANNEL_LIMITS[piece.channel]
        over = [
            f"{field} is {len(value)} chars (limit {limit})"
            for field, value, limit in (
                ("headline", piece.headline, limits.headline),
                ("body", piece.body, limits.body),
                ("call to action", piece.call_to_action, limits.call_to_action),
            )
            if len(value) > limit
        ]
        check(
            "length_limits",
            not over,
            Severity.WARNING,
            "; ".join(over) + "." if over else "Within the channel's length limits.",
            piece.channel,
        )

    covered = {p.channel for p in content.pieces}
    missing = [c.value for c in strategy.channels if c not in covered]
    check(
        "channel_coverage",
        not missing,
        Severity.CRITICAL,
        f"No piece for channel(s): {', '.join(missing)}."
        if missing
        else "One piece or more for every channel of the strategy.",
    )
    all_text = _with_hashtag_words(
        "\n".join(f"{p.headline}\n{p.body}\n{p.call_to_action}" for p in content.pieces)
    )
    missing_keywords = [k for k in brief.keywords if not find_phrases(all_text, [k])]
    check(
        "keyword_coverage",
        not missing_keywords,
        Severity.INFO,
        f"Keywords not used: {', '.join(missing_keywords)}."
        if missing_keywords
        else "Every brief keyword appears in the copy.",
    )
    wanted = language(brief.locale)
    detected = _detected_language(all_text)
    locale_ok = wanted not in _LANGUAGE_MARKERS or detected is None or detected == wanted
    check(
        "locale",
        locale_ok,
        Severity.INFO,
        f"The copy reads as {detected}, the brief's locale is {brief.locale}."
        if not locale_ok
        else f"Copy matches the {brief.locale} locale"
        + (" (not verified)." if detected is None or wanted not in _LANGUAGE_MARKERS else "."),
    )
    failed_critical = any(c.severity is Severity.CRITICAL and not c.passed for c in checks)
    return QualityReport(
        artifact_id=artifact_id,
        produced_at=now,
        verdict=QualityVerdict.FAIL if failed_critical else QualityVerdict.PASS,
        checks=checks,
        audited_revision=content.revision,
    )


# --- PUBLISHER ---------------------------------------------------------------------------------


def publish(
    req: PublishRequest, rng: random.Random, artifact_id: UUID, now: datetime
) -> PublishReceipt:
    del rng
    slug = slugify(req.campaign_name)
    items = []
    for piece in req.content.pieces:
        digest = hashlib.sha256(canonical_json(piece.model_dump(mode="json")).encode()).hexdigest()
        items.append(
            PublishedItem(
                channel=piece.channel,
                url=f"https://{PUBLICATION_HOSTS[piece.channel]}/{slug}-{digest[:10]}",
            )
        )
    return PublishReceipt(
        artifact_id=artifact_id,
        produced_at=now,
        publication_id=f"pub_{artifact_id.hex[:20]}",
        items=items,
        published_at=now,
    )


# --- LEARNING ----------------------------------------------------------------------------------

_RECOMMENDATIONS: dict[Channel, tuple[str, ...]] = {
    Channel.EMAIL: (
        "A/B test two subject lines on a 10% holdout before the full send.",
        "Send a follow-up to non-openers after 72 hours with a new subject line.",
    ),
    Channel.SOCIAL: (
        "Turn the best-performing post into a 15-second video.",
        "Reply to the first comments within an hour to lift reach.",
    ),
    Channel.BLOG: (
        "Add an FAQ section that targets the questions people search for.",
        "Link the guide from the three most visited pages of the site.",
    ),
    Channel.SEARCH_ADS: (
        "Add negative keywords to cut irrelevant clicks.",
        "Test a question-style headline against the current one.",
    ),
}


def learn(
    req: LearnRequest, rng: random.Random, artifact_id: UUID, now: datetime
) -> LearningSummary:
    brief, receipt, report = req.brief, req.receipt, req.quality_report
    channels = [item.channel for item in receipt.items]
    failed = [c for c in report.checks if not c.passed]
    warnings = [c for c in failed if c.severity is Severity.WARNING]
    critical = [c for c in failed if c.severity is Severity.CRITICAL]
    engagement = 0.3 + 0.05 * len(set(channels)) + min(len(brief.keywords), 5) * 0.01
    engagement += 0.1 if report.verdict is QualityVerdict.PASS else -0.1
    engagement -= 0.03 * len(warnings) + 0.15 * len(critical)
    engagement += rng.uniform(-0.05, 0.05)
    engagement = round(min(max(engagement, 0.01), 0.99), 3)

    insights = [
        f"Published on {len(channels)} channel(s): {', '.join(c.value for c in channels)}.",
        f"Quality audit {report.verdict.value} on revision {report.audited_revision} "
        f"with {len(warnings)} warning(s).",
    ]
    if report.audited_revision > 0:
        insights.append(
            f"The copy needed {report.audited_revision} revision(s) before it passed the gate."
        )
    if brief.budget > 0:
        insights.append(
            f"Budget of {brief.budget:,.2f} spread across {len(set(channels))} channel(s)."
        )
    keywords = topic_keywords(brief)
    insights.append(
        clip(
            f"{upper_first(audience_short(brief))} responded best to copy about {keywords[0]}.", 500
        )
    )
    recommendations = [rng.choice(_RECOMMENDATIONS[c]) for c in dict.fromkeys(channels)]
    for check in warnings[:3]:
        where = f" on {check.channel.value}" if check.channel else ""
        recommendations.append(f"Fix {check.name.replace('_', ' ')}{where} before the next send.")
    return LearningSummary(
        artifact_id=artifact_id,
        produced_at=now,
        insights=insights,
        predicted_engagement=engagement,
        recommendations=recommendations,
    )


# --- dispatch ----------------------------------------------------------------------------------


def respond(
    service: ServiceName, request: BaseModel, *, artifact_id: UUID, now: datetime
) -> BaseModel:
    """The artifact a service produces for a (validated) request."""
    rng = random.Random(content_seed(service, request))
    if isinstance(request, RadarScanRequest):
        return radar_scan(request, rng, artifact_id, now)
    if isinstance(request, StrategyRequest):
        return strategy_brief(request, rng, artifact_id, now)
    if isinstance(request, ContentRequest):
        return produce_content(request, rng, artifact_id, now)
    if isinstance(request, AuditRequest):
        return audit(request, rng, artifact_id, now)
    if isinstance(request, PublishRequest):
        return publish(request, rng, artifact_id, now)
    if isinstance(request, LearnRequest):
        return learn(request, rng, artifact_id, now)
    raise TypeError(f"{service.value} has no behaviour for {type(request).__name__}")

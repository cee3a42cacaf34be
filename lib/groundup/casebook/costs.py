"""Case family 3: costs beyond projections.

A projection is a formula; the bill is a measurement. Each case measures the gap and
closes it by measuring the quantity the formula guessed:

* ``languages``: the bill for other languages is several times the projection. Cause:
  "a token is about 4 characters" holds for English under a tokenizer trained mostly on
  English (Chapter 1's cl100k); Greek, Hindi or Arabic text takes several times more
  tokens per character. Measured: the error of the projected token count, per language.
  Fix: a tokens-per-character rate measured per language (on one text, verified on another).
* ``formats``: tool output pasted into prompts costs twice the estimate. Cause: the
  format: indentation, quotes and repeated keys are tokens too. Measured: tokens per
  record. Fix: send the same records as CSV (or compact JSON).
* ``kv-memory``: a server runs out of memory at a load its weights suggest it can carry.
  Cause: the KV cache (Chapter 7) grows with every token of every sequence. Measured: the
  memory of a model and its cache, against the projection. Fix: project with
  ``kv_cache_bytes`` and admit only the sequences the cache has room for.
"""

from __future__ import annotations

import csv
import io
import json
import random

import torch

from groundup.casebook.base import CaseResult, check_size

__all__ = ["UDHR_ARTICLE_1", "SHIPPING_NOTICE", "count_tokens", "tokens_per_char", "case_languages",
           "make_records", "as_formats", "case_formats", "model_bytes", "case_kv_memory"]

# Article 1 of the Universal Declaration of Human Rights in its official versions: the same
# content in every language, so token counts compare languages, not texts.
UDHR_ARTICLE_1 = {
    "English": "All human beings are born free and equal in dignity and rights. They are endowed with reason and "
               "conscience and should act towards one another in a spirit of brotherhood.",
    "German": "Alle Menschen sind frei und gleich an Würde und Rechten geboren. Sie sind mit Vernunft und Gewissen "
              "begabt und sollen einander im Geist der Brüderlichkeit begegnen.",
    "French": "Tous les êtres humains naissent libres et égaux en dignité et en droits. Ils sont doués de raison "
              "et de conscience et doivent agir les uns envers les autres dans un esprit de fraternité.",
    "Spanish": "Todos los seres humanos nacen libres e iguales en dignidad y derechos y, dotados como están de "
               "razón y conciencia, deben comportarse fraternalmente los unos con los otros.",
    "Russian": "Все люди рождаются свободными и равными в своем достоинстве и правах. Они наделены разумом и "
               "совестью и должны поступать в отношении друг друга в духе братства.",
    "Greek": "Όλοι οι άνθρωποι γεννιούνται ελεύθεροι και ίσοι στην αξιοπρέπεια και τα δικαιώματα. Είναι "
             "προικισμένοι με λογική και συνείδηση, και οφείλουν να συμπεριφέρονται μεταξύ τους με πνεύμα "
             "αδελφοσύνης.",
    "Chinese": "人人生而自由，在尊严和权利上一律平等。他们赋有理性和良心，并应以兄弟关系的精神相对待。",
    "Japanese": "すべての人間は、生まれながらにして自由であり、かつ、尊厳と権利とについて平等である。人間は、理性と良心とを"
                "授けられており、互いに同胞の精神をもって行動しなければならない。",
    "Hindi": "सभी मनुष्यों को गौरव और अधिकारों के मामले में जन्मजात स्वतन्त्रता और समानता प्राप्त है। उन्हें बुद्धि और "
             "अन्तरात्मा की देन प्राप्त है और परस्पर उन्हें भाईचारे के भाव से बर्ताव करना चाहिए।",
    "Arabic": "يولد جميع الناس أحرارًا متساوين في الكرامة والحقوق. وقد وهبوا عقلاً وضميرًا وعليهم أن يعامل بعضهم "
              "بعضًا بروح الإخاء.",
}

# A second parallel text (the course's own translations of a customer-service message):
# the per-language rates are measured on Article 1 and checked on this one.
SHIPPING_NOTICE = {
    "English": "Your order has been shipped and should arrive within three working days. If the package is "
               "damaged, please contact us and we will send a replacement free of charge.",
    "German": "Ihre Bestellung wurde versandt und sollte innerhalb von drei Werktagen ankommen. Falls das Paket "
              "beschädigt ist, kontaktieren Sie uns bitte, und wir senden Ihnen kostenlos einen Ersatz.",
    "French": "Votre commande a été expédiée et devrait arriver sous trois jours ouvrables. Si le colis est "
              "endommagé, veuillez nous contacter et nous vous enverrons un remplacement gratuitement.",
    "Spanish": "Su pedido ha sido enviado y debería llegar en un plazo de tres días hábiles. Si el paquete está "
               "dañado, contáctenos y le enviaremos un reemplazo sin coste alguno.",
    "Russian": "Ваш заказ отправлен и должен прибыть в течение трёх рабочих дней. Если посылка повреждена, "
               "пожалуйста, свяжитесь с нами, и мы бесплатно вышлем замену.",
    "Greek": "Η παραγγελία σας έχει αποσταλεί και αναμένεται να φτάσει μέσα σε τρεις εργάσιμες ημέρες. Αν το "
             "δέμα έχει υποστεί ζημιά, επικοινωνήστε μαζί μας και θα σας στείλουμε δωρεάν αντικατάσταση.",
    "Chinese": "您的订单已发货，预计将在三个工作日内送达。如果包裹损坏，请与我们联系，我们将免费为您更换。",
    "Japanese": "ご注文の商品は発送済みで、3営業日以内に到着する予定です。荷物が破損している場合は、ご連絡いただければ無料で"
                "交換品をお送りします。",
    "Hindi": "आपका ऑर्डर भेज दिया गया है और तीन कार्य दिवसों के भीतर पहुँच जाना चाहिए। यदि पैकेज क्षतिग्रस्त है, तो "
             "कृपया हमसे संपर्क करें और हम आपको निःशुल्क बदला हुआ सामान भेजेंगे।",
    "Arabic": "تم شحن طلبك ومن المتوقع أن يصل خلال ثلاثة أيام عمل. إذا كان الطرد تالفًا، يرجى التواصل معنا وسنرسل لك "
              "بديلاً مجانًا.",
}

CHARS_PER_TOKEN_RULE = 4.0  # the rule of thumb: "a token is about 4 characters (of English)"


def count_tokens(tokenizer, text: str) -> int:
    return len(tokenizer.encode(text))


def tokens_per_char(tokenizer, texts: dict[str, str]) -> dict[str, float]:
    """Measured tokens per character of each language's text.

    >>> from groundup.tokenizer import load_cl100k
    >>> round(tokens_per_char(load_cl100k(), {"en": "hello world"})["en"], 3)   # 2 tokens, 11 characters
    0.182
    """
    return {lang: count_tokens(tokenizer, t) / len(t) for lang, t in texts.items()}


def case_languages(size: str = "small", *, tokenizer=None) -> CaseResult:
    """Mean |projected - measured| / measured tokens over the languages, before and after calibration."""
    check_size(size)
    from groundup.tokenizer import load_cl100k

    tok = tokenizer or load_cl100k()
    rates = tokens_per_char(tok, UDHR_ARTICLE_1)  # calibrate on one text ...
    rows = {}
    for lang, text in SHIPPING_NOTICE.items():  # ... verify on another
        measured = count_tokens(tok, text)
        rule = len(text) / CHARS_PER_TOKEN_RULE
        calibrated = len(text) * rates[lang]
        rows[lang] = {"chars": len(text), "tokens": measured, "rule": rule, "calibrated": calibrated,
                      "vs_english": (measured / len(text)) / (count_tokens(tok, SHIPPING_NOTICE["English"])
                                                               / len(SHIPPING_NOTICE["English"])),
                      "article1_tokens": count_tokens(tok, UDHR_ARTICLE_1[lang])}
    err = lambda key: sum(abs(r[key] - r["tokens"]) / r["tokens"] for r in rows.values()) / len(rows)  # noqa: E731
    return CaseResult(
        "languages", "mean error of the projected token count, over 10 languages", err("rule"), err("calibrated"),
        False,
        cause="'4 characters per token' describes English under a tokenizer trained mostly on English; other "
              "scripts take up to several times more tokens per character",
        fix="project with a tokens-per-character rate measured per language (here on UDHR Article 1)",
        details=rows)


# ----------------------------------------------------------------------------- formats
def make_records(n: int, seed: int = 0) -> list[dict]:
    """``n`` rows of an order table, as a tool or database query would return them."""
    rng = random.Random(seed)
    items = ["keyboard", "monitor", "usb cable", "laptop stand", "webcam", "headset", "mouse", "docking station"]
    status = ["shipped", "pending", "delivered", "returned"]
    return [{"order_id": 100000 + i, "customer": f"customer-{rng.randrange(1000):03d}", "item": rng.choice(items),
             "quantity": rng.randint(1, 5), "price_eur": round(rng.uniform(5, 400), 2), "status": rng.choice(status)}
            for i in range(n)]


def as_formats(records: list[dict]) -> dict[str, str]:
    """The same records as pretty JSON, compact JSON and CSV."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return {"JSON, indented": json.dumps(records, indent=4),
            "JSON, compact": json.dumps(records, separators=(",", ":")),
            "CSV": buf.getvalue()}


def case_formats(size: str = "small", *, tokenizer=None) -> CaseResult:
    """Tokens per record, indented JSON (the fault) vs CSV (the fix)."""
    check_size(size)
    from groundup.tokenizer import load_cl100k

    tok = tokenizer or load_cl100k()
    n = {"tiny": 20, "small": 200, "full": 2000}[size]
    texts = as_formats(make_records(n))
    per_record = {name: count_tokens(tok, t) / n for name, t in texts.items()}
    return CaseResult(
        "formats", "tokens per record pasted into the prompt", per_record["JSON, indented"], per_record["CSV"], False,
        cause="indented JSON repeats every key in every record and spends tokens on whitespace and quotes",
        fix="send tables as CSV (keys once, in the header) or at least as compact JSON",
        details={"per_record": per_record, "chars": {k: len(t) / n for k, t in texts.items()}})


# ----------------------------------------------------------------------------- KV memory
def model_bytes(model: torch.nn.Module) -> int:
    """Bytes of a model's parameters and buffers."""
    return sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers()))


@torch.no_grad()
def case_kv_memory(size: str = "small") -> CaseResult:
    """Error of a memory projection that counts the weights only vs one that adds the KV cache.

    Measured on Chapter 7's wide model with a real ``KVCache`` filled by ``batch``
    sequences of ``T`` tokens: its ``nbytes`` is the memory the cache really holds."""
    check_size(size)
    from groundup.attention import KVCache
    from groundup.casebook.latency import wide_model
    from groundup.generate import kv_cache_bytes

    batch, T = {"tiny": (2, 64), "small": (8, 512), "full": (64, 512)}[size]
    model = wide_model(block_size=512)
    cache = KVCache(model.config.n_layer)
    model(torch.randint(0, 256, (batch, T)), cache=cache, last_only=True)
    measured = model_bytes(model) + cache.nbytes
    weights_only = model_bytes(model)
    projected = weights_only + kv_cache_bytes(model.config.n_layer, model.config.n_embd, T, batch=batch)
    GiB = 2**30
    published = {}  # (layers, width, context, parameters): how many full-context sequences fit in 80 GiB (bf16)
    for name, (L, C, ctx, N) in {"GPT-2 small": (12, 768, 1024, 124e6), "Llama 2 7B": (32, 4096, 4096, 6.7e9)}.items():
        per_seq = kv_cache_bytes(L, C, ctx, bytes_per_value=2)
        published[name] = {"kv_gib_per_sequence": per_seq / GiB, "sequences_in_80_gib": int((80 * GiB - 2 * N) // per_seq)}
    return CaseResult(
        "kv-memory", f"error of the memory projection, {batch} sequences of {T} tokens",
        abs(weights_only - measured) / measured, abs(projected - measured) / measured, False,
        cause="the projection counted the weights; the KV cache holds 2 x layers x tokens x width numbers "
              "per sequence, more than the weights here",
        fix="project with kv_cache_bytes(L, C, T, batch=B) and admit sequences only while the cache has room",
        details={"weights_bytes": weights_only, "cache_bytes": cache.nbytes, "measured": measured,
                 "projected": projected, "published": published})

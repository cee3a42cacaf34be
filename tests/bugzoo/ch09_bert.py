"""Wrong implementations of the functions learners write in Chapter 9 (BERT)."""

BUGS = {
    "basic_tokenize": {
        "no_lower_casing": '''
def basic_tokenize(text):
    chars = []
    for ch in text:
        if ch in ("\\x00", "\\ufffd") or is_control(ch):
            continue
        chars.append(" " if is_whitespace(ch) else f" {ch} " if is_cjk(ord(ch)) else ch)
    text = "".join(c for c in unicodedata.normalize("NFD", "".join(chars)) if unicodedata.category(c) != "Mn")
    words, cur = [], ""
    for ch in text:
        if is_whitespace(ch) or is_punctuation(ch):
            if cur:
                words.append(cur)
            cur = ""
            if is_punctuation(ch):
                words.append(ch)
        else:
            cur += ch
    return words + ([cur] if cur else [])
''',
        "accents_kept": '''
def basic_tokenize(text):
    chars = []
    for ch in text:
        if ch in ("\\x00", "\\ufffd") or is_control(ch):
            continue
        chars.append(" " if is_whitespace(ch) else f" {ch} " if is_cjk(ord(ch)) else ch)
    text = "".join(c.lower() for c in "".join(chars))
    words, cur = [], ""
    for ch in text:
        if is_whitespace(ch) or is_punctuation(ch):
            if cur:
                words.append(cur)
            cur = ""
            if is_punctuation(ch):
                words.append(ch)
        else:
            cur += ch
    return words + ([cur] if cur else [])
''',
        "punctuation_not_split": '''
def basic_tokenize(text):
    chars = []
    for ch in text:
        if ch in ("\\x00", "\\ufffd") or is_control(ch):
            continue
        chars.append(" " if is_whitespace(ch) else f" {ch} " if is_cjk(ord(ch)) else ch)
    text = unicodedata.normalize("NFD", "".join(chars))
    text = "".join(c.lower() for c in text if unicodedata.category(c) != "Mn")
    return text.split()
''',
        "cjk_not_spaced": '''
def basic_tokenize(text):
    chars = []
    for ch in text:
        if ch in ("\\x00", "\\ufffd") or is_control(ch):
            continue
        chars.append(" " if is_whitespace(ch) else ch)
    text = unicodedata.normalize("NFD", "".join(chars))
    text = "".join(c.lower() for c in text if unicodedata.category(c) != "Mn")
    words, cur = [], ""
    for ch in text:
        if is_whitespace(ch) or is_punctuation(ch):
            if cur:
                words.append(cur)
            cur = ""
            if is_punctuation(ch):
                words.append(ch)
        else:
            cur += ch
    return words + ([cur] if cur else [])
''',
        "whole_string_lower_final_sigma": '''
def basic_tokenize(text):
    chars = []
    for ch in text:
        if ch in ("\\x00", "\\ufffd") or is_control(ch):
            continue
        chars.append(" " if is_whitespace(ch) else f" {ch} " if is_cjk(ord(ch)) else ch)
    text = unicodedata.normalize("NFD", "".join(chars))
    text = "".join(c for c in text if unicodedata.category(c) != "Mn").lower()
    words, cur = [], ""
    for ch in text:
        if is_whitespace(ch) or is_punctuation(ch):
            if cur:
                words.append(cur)
            cur = ""
            if is_punctuation(ch):
                words.append(ch)
        else:
            cur += ch
    return words + ([cur] if cur else [])
''',
        "control_characters_kept": '''
def basic_tokenize(text):
    chars = [" " if is_whitespace(ch) else f" {ch} " if is_cjk(ord(ch)) else ch for ch in text]
    text = unicodedata.normalize("NFD", "".join(chars))
    text = "".join(c.lower() for c in text if unicodedata.category(c) != "Mn")
    words, cur = [], ""
    for ch in text:
        if is_whitespace(ch) or is_punctuation(ch):
            if cur:
                words.append(cur)
            cur = ""
            if is_punctuation(ch):
                words.append(ch)
        else:
            cur += ch
    return words + ([cur] if cur else [])
''',
    },
    "wordpiece": {
        "no_hash_prefix_on_continuations": '''
def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start and word[start:end] not in vocab:
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(word[start:end])
        start = end
    return pieces
''',
        "hash_looked_up_but_not_returned": '''
def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(word[start:end])
        start = end
    return pieces
''',
        "hash_on_first_piece_too": '''
def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start and "##" + word[start:end] not in vocab:
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append("##" + word[start:end])
        start = end
    return pieces
''',
        "shortest_match_first": '''
def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = start + 1
        while end <= len(word):
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end += 1
        if end > len(word):
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces
''',
        "unk_only_the_unmatched_part": '''
def wordpiece(word, vocab, max_chars=100):
    if len(word) > max_chars:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            pieces.append("[UNK]")
            start += 1
            continue
        pieces.append(piece)
        start = end
    return pieces
''',
        "no_length_limit": '''
def wordpiece(word, vocab, max_chars=100):
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        if end == start:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces
''',
    },
    "encode": {
        "no_cls_sep": '''
def encode(text, vocab, max_length=512):
    ids = [vocab[p] for word in basic_tokenize(text) for p in wordpiece(word, vocab)]
    return ids[: max_length - 2]
''',
        "truncated_after_adding_specials": '''
def encode(text, vocab, max_length=512):
    ids = [vocab[p] for word in basic_tokenize(text) for p in wordpiece(word, vocab)]
    return ([vocab["[CLS]"]] + ids + [vocab["[SEP]"]])[:max_length]
''',
        "truncated_to_max_length_not_minus_two": '''
def encode(text, vocab, max_length=512):
    ids = [vocab[p] for word in basic_tokenize(text) for p in wordpiece(word, vocab)]
    return [vocab["[CLS]"]] + ids[:max_length] + [vocab["[SEP]"]]
''',
        "sep_before_cls": '''
def encode(text, vocab, max_length=512):
    ids = [vocab[p] for word in basic_tokenize(text) for p in wordpiece(word, vocab)]
    return [vocab["[SEP]"]] + ids[: max_length - 2] + [vocab["[CLS]"]]
''',
    },
    "bidirectional_mask": {
        "causal_mask_left_on": '''
def bidirectional_mask(attention_mask):
    B, T = attention_mask.shape
    keys = attention_mask.bool()[:, None, None, :]
    return keys & torch.ones(T, T, dtype=torch.bool).tril()
''',
        "padding_queries_masked_instead_of_keys": '''
def bidirectional_mask(attention_mask):
    B, T = attention_mask.shape
    return attention_mask.bool()[:, None, :, None].expand(B, 1, T, T)
''',
        "queries_and_keys_both_masked": '''
def bidirectional_mask(attention_mask):
    m = attention_mask.bool()
    return (m[:, None, :, None] & m[:, None, None, :])
''',
        "inverted_convention": '''
def bidirectional_mask(attention_mask):
    B, T = attention_mask.shape
    return (attention_mask == 0)[:, None, None, :].expand(B, 1, T, T)
''',
        "integer_mask": '''
def bidirectional_mask(attention_mask):
    B, T = attention_mask.shape
    return attention_mask[:, None, None, :].expand(B, 1, T, T)
''',
    },
    "BertEmbeddings": {
        "segment_embeddings_forgotten": '''
class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.n_embd)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.n_embd)
        self.LayerNorm = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids=None):
        T = input_ids.size(1)
        x = self.word_embeddings(input_ids) + self.position_embeddings(torch.arange(T))
        return self.dropout(self.LayerNorm(x))
''',
        "layer_norm_eps_1e_5": '''
class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.n_embd)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.n_embd)
        self.LayerNorm = nn.LayerNorm(config.n_embd)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids=None):
        T = input_ids.size(1)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.position_embeddings(torch.arange(T)) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))
''',
        "no_layer_norm": '''
class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.n_embd)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.n_embd)
        self.LayerNorm = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids=None):
        T = input_ids.size(1)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.position_embeddings(torch.arange(T)) + self.token_type_embeddings(token_type_ids)
        return self.dropout(x)
''',
        "positions_start_at_one": '''
class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.n_embd)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.n_embd)
        self.LayerNorm = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids=None):
        T = input_ids.size(1)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.word_embeddings(input_ids) + self.position_embeddings(torch.arange(1, T + 1)) + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x))
''',
        "layer_norm_before_adding_positions": '''
class BertEmbeddings(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.n_embd)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.n_embd)
        self.LayerNorm = nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids=None):
        T = input_ids.size(1)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.LayerNorm(self.word_embeddings(input_ids))
        return self.dropout(x + self.position_embeddings(torch.arange(T)) + self.token_type_embeddings(token_type_ids))
''',
    },
    "mean_pool": {
        "padding_averaged_in": '''
def mean_pool(hidden, attention_mask):
    return hidden.mean(dim=1)
''',
        "cls_pooling": '''
def mean_pool(hidden, attention_mask):
    return hidden[:, 0]
''',
        "divided_by_T": '''
def mean_pool(hidden, attention_mask):
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(dim=1) / hidden.size(1)
''',
        "divided_by_the_whole_batch_count": '''
def mean_pool(hidden, attention_mask):
    m = attention_mask.to(hidden.dtype).unsqueeze(-1)
    return (hidden * m).sum(dim=1) / m.sum()
''',
        "float32_mask_casts_float64": '''
def mean_pool(hidden, attention_mask):
    m = attention_mask.float().unsqueeze(-1)
    return ((hidden.float() * m).sum(dim=1) / m.sum(dim=1))
''',
    },
}

"""Fresh bug zoo for ch03_attention, written from the release (exercises/ch03_attention) and the chapter page only.

Each entry is a wrong implementation a learner could plausibly write; most pass the visible tests.
The ``MultiHeadSelfAttention`` entries share the given ``__init__`` (``_MHA``) and differ in ``forward``.
"""

_MHA = '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        if n_embd % n_head != 0:
            raise ValueError(f"n_embd={n_embd} is not divisible by n_head={n_head}")
        self.n_embd = n_embd
        self.n_head = n_head
        self.causal = causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)
'''

BUGS = {
    "scaled_dot_product_attention": {
        # Scaled by sqrt(d_v): right whenever d_v == d_k, as in every visible test.
        "scale_by_d_v": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(v.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        # Softmax in float32: float64 in, float32-precision weights and a float64 result only by promotion.
        "float32_softmax": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32)
    return weights @ v.float()
''',
        # Hand-written softmax without the max: large scores overflow to inf / inf = NaN.
        "softmax_without_max": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    e = torch.exp(scores)
    if mask is not None:
        e = e.masked_fill(~mask, 0.0)
    return e / e.sum(dim=-1, keepdim=True) @ v
''',
        # Hand-written softmax with ONE max for the whole tensor: a row far below it gives 0 / 0.
        "softmax_global_max": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    e = torch.exp(scores - scores.max())
    return e / e.sum(dim=-1, keepdim=True) @ v
''',
        # Assumes a (T, T) mask and adds (1, 1) in front: a (B, 1, 1, T) padding mask makes the result 6-D.
        "mask_assumed_2d": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        if q.dim() == 4:
            mask = mask[None, None]
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        # nanoGPT-style slice of the mask to (T_q, T_q): wrong when T_q != T_k.
        "mask_sliced_to_t_q": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    T = q.shape[-2]
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask[..., :T, :T], float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        # Scales q in place: the caller's tensor changes.
        "scales_q_in_place": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    q /= math.sqrt(q.shape[-1])
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        # Any mask is treated as causal (its contents are ignored).
        "any_mask_is_causal": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        causal = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        # Adds a batch axis to every mask: an unbatched (T, d) input with a mask comes back (1, T, d_v).
        "mask_unsqueezed_for_batch": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask.unsqueeze(0), float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
    },
    "causal_mask": {
        # A precomputed block_size mask, sliced: fails past its size.
        "fixed_max_size": '''
_BLOCK = torch.ones(32, 32, dtype=torch.bool).tril()

def causal_mask(T):
    return _BLOCK[:T, :T]
''',
    },
    "split_heads": {
        # Assumes a batch of one.
        "batch_of_one": '''
def split_heads(x, n_head):
    _, T, C = x.shape
    return x.view(1, T, n_head, C // n_head).transpose(1, 2)
''',
        # n_head and the head size swapped: right only when nh == hs.
        "n_head_and_head_size_swapped": '''
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, C // n_head, n_head).transpose(1, 2)
''',
    },
    "merge_heads": {
        # Assumes a batch of one.
        "batch_of_one": '''
def merge_heads(y):
    _, nh, T, hs = y.shape
    return y.transpose(1, 2).reshape(1, T, nh * hs)
''',
        # C computed as nh * nh: right only when nh == hs.
        "channels_nh_squared": '''
def merge_heads(y):
    B, nh, T, hs = y.shape
    return y.transpose(1, 2).reshape(B, T, nh * nh)
''',
    },
    "MultiHeadSelfAttention": {
        "ignores_attn_mask": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else None
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "masks_combined_with_or": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else None
        if attn_mask is not None:
            mask = attn_mask if mask is None else (mask | attn_mask)
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # Always causal: causal=False is ignored.
        "ignores_causal_flag": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T)
        if attn_mask is not None:
            mask = mask & attn_mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # attn_mask replaces the causal mask instead of combining with it.
        "attn_mask_replaces_causal": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        if attn_mask is not None:
            mask = attn_mask
        else:
            mask = causal_mask(T) if self.causal else None
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # attn_mask used only when causal=True.
        "attn_mask_only_when_causal": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = None
        if self.causal:
            mask = causal_mask(T)
            if attn_mask is not None:
                mask = mask & attn_mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # attn_mask read with torch.nn.MultiheadAttention's convention (True = blocked).
        "attn_mask_inverted": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else None
        if attn_mask is not None:
            mask = ~attn_mask if mask is None else (mask & ~attn_mask)
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # Assumes attn_mask is a (B, T) key-padding mask and reshapes it itself.
        "attn_mask_assumed_b_t": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else torch.ones(T, T, dtype=torch.bool)
        if attn_mask is not None:
            mask = mask & attn_mask.view(B, 1, 1, T)
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # Passes the head size where split_heads wants the number of heads: right only when nh == hs.
        "head_size_as_n_head": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        hs = C // self.n_head
        q, k, v = (split_heads(t, hs) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else None
        if attn_mask is not None:
            mask = attn_mask if mask is None else (mask & attn_mask)
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # q and k detached: right outputs, but no gradient reaches the queries and keys.
        "detached_q_k": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k = q.detach(), k.detach()
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else None
        if attn_mask is not None:
            mask = attn_mask if mask is None else (mask & attn_mask)
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # c_attn applied through .data: no gradient reaches c_attn at all.
        "c_attn_weights_via_data": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        qkv = F.linear(x, self.c_attn.weight.data, self.c_attn.bias.data)
        q, k, v = qkv.split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else None
        if attn_mask is not None:
            mask = attn_mask if mask is None else (mask & attn_mask)
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        # The attention itself under no_grad: only c_proj learns.
        "attention_under_no_grad": _MHA + '''
    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = causal_mask(T) if self.causal else None
        if attn_mask is not None:
            mask = attn_mask if mask is None else (mask & attn_mask)
        with torch.no_grad():
            y = scaled_dot_product_attention(q, k, v, mask)
        return self.c_proj(merge_heads(y))
''',
    },
}

"""Wrong implementations of the functions learners write in Chapter 3 (attention)."""

BUGS = {
    "scaled_dot_product_attention": {
        "no_sqrt_dk_scale": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        "scaled_by_dk_not_sqrt": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / q.size(-1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        "softmax_over_query_axis": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-2) @ v
''',
        "mask_after_softmax": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.size(-1)), dim=-1)
    if mask is not None:
        weights = weights.masked_fill(~mask, 0.0)
    return weights @ v
''',
        "masked_scores_set_to_zero": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, 0.0)
    return torch.softmax(scores, dim=-1) @ v
''',
        "mask_convention_inverted": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        "transposes_k_on_axes_1_2": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(1, 2) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        "scales_by_sqrt_dv": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(v.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        "returns_the_weights": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)
''',
        "detaches_the_weights": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1).detach() @ v
''',
        "casts_inputs_to_float32": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    q, k, v = q.float(), k.float(), v.float()  # "attention in float32 for stability"
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v
''',
        "handwritten_softmax_without_max": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    e = torch.exp(scores)  # overflows to inf for scores above ~88
    return (e / e.sum(dim=-1, keepdim=True)) @ v
''',
        "finite_fill_minus_1e4": '''
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if mask is not None:
        scores = scores.masked_fill(~mask, -1e4)  # a "large negative" that is not large enough
    return torch.softmax(scores, dim=-1) @ v
''',
    },
    "causal_mask": {
        "off_by_one_sees_next_token": '''
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=1)
''',
        "strictly_lower_cannot_see_itself": '''
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).tril(diagonal=-1)
''',
        "upper_triangle_sees_future": '''
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).triu()
''',
        "true_means_blocked": '''
def causal_mask(T):
    return torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)
''',
        "float_mask_not_bool": '''
def causal_mask(T):
    return torch.ones(T, T).tril()
''',
        "additive_float_mask": '''
def causal_mask(T):
    return torch.full((T, T), float("-inf")).triu(diagonal=1)
''',
        "cut_from_a_1024_buffer": '''
_TRIL = torch.ones(1024, 1024, dtype=torch.bool).tril()  # GPT-2's block size, built once

def causal_mask(T):
    return _TRIL[:T, :T]
''',
    },
    "split_heads": {
        "reshape_mixes_heads_and_time": '''
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.reshape(B, n_head, T, C // n_head)
''',
        "no_transpose_heads_after_time": '''
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, n_head, C // n_head)
''',
        "strided_heads_hs_before_nh": '''
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.view(B, T, C // n_head, n_head).permute(0, 3, 1, 2)
''',
        "transpose_channels_first_then_reshape": '''
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.transpose(1, 2).reshape(B, n_head, T, C // n_head)
''',
        "converts_to_float32": '''
def split_heads(x, n_head):
    B, T, C = x.shape
    return x.float().view(B, T, n_head, C // n_head).transpose(1, 2)
''',
    },
    "merge_heads": {
        "reshape_without_transpose": '''
def merge_heads(y):
    B, nh, T, hs = y.shape
    return y.reshape(B, T, nh * hs)
''',
        "hs_major_channel_order": '''
def merge_heads(y):
    B, nh, T, hs = y.shape
    return y.permute(0, 2, 3, 1).reshape(B, T, nh * hs)
''',
        "concatenates_along_time": '''
def merge_heads(y):
    return torch.cat(y.unbind(1), dim=1)
''',
        "averages_the_heads": '''
def merge_heads(y):
    return y.mean(dim=1)
''',
        "converts_to_float32": '''
def merge_heads(y):
    B, nh, T, hs = y.shape
    return y.transpose(1, 2).reshape(B, T, nh * hs).float()
''',
    },
    "MultiHeadSelfAttention": {
        "no_output_projection": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = (split_heads(t, self.n_head) for t in self.c_attn(x).split(C, dim=-1))
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return merge_heads(scaled_dot_product_attention(q, k, v, mask))
''',
        "k_q_v_order": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        k, q, v = (split_heads(t, self.n_head) for t in self.c_attn(x).split(C, dim=-1))
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "qkv_interleaved_layout": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = (split_heads(t, self.n_head) for t in self.c_attn(x).view(B, T, C, 3).unbind(-1))
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "forgets_causal_mask": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = (split_heads(t, self.n_head) for t in self.c_attn(x).split(C, dim=-1))
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, attn_mask)))
''',
        "ignores_attn_mask_when_causal": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = (split_heads(t, self.n_head) for t in self.c_attn(x).split(C, dim=-1))
        mask = causal_mask(T) if self.causal else attn_mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "masks_combined_with_or": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = (split_heads(t, self.n_head) for t in self.c_attn(x).split(C, dim=-1))
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) | mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "one_big_head": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return self.c_proj(scaled_dot_product_attention(q, k, v, mask))
''',
        "extra_unused_layers": '''
class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.q_proj = nn.Linear(n_embd, n_embd)
        self.k_proj = nn.Linear(n_embd, n_embd)
        self.v_proj = nn.Linear(n_embd, n_embd)
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = (split_heads(p(x), self.n_head) for p in (self.q_proj, self.k_proj, self.v_proj))
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "detaches_queries_and_keys": '''class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=-1)
        q, k = q.detach(), k.detach()  # "the scores need no gradient": the query never learns what to look for
        q, k, v = (split_heads(t, self.n_head) for t in (q, k, v))
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "two_dim_attn_mask_read_as_padding": '''class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        q, k, v = (split_heads(t, self.n_head) for t in self.c_attn(x).split(C, dim=-1))
        mask = attn_mask
        if mask is not None and mask.dim() == 2:  # "a 2-D mask is a (B, T) padding mask"
            mask = mask[:, None, None, :]
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return self.c_proj(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
        "computes_in_float32": '''class MultiHeadSelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, causal=True):
        super().__init__()
        self.n_embd, self.n_head, self.causal = n_embd, n_head, causal
        self.c_attn = nn.Linear(n_embd, 3 * n_embd)
        self.c_proj = nn.Linear(n_embd, n_embd)

    def forward(self, x, attn_mask=None):
        B, T, C = x.shape
        x = x.float()
        q, k, v = (split_heads(t.float(), self.n_head) for t in self.c_attn.float()(x).split(C, dim=-1))
        mask = attn_mask
        if self.causal:
            mask = causal_mask(T) if mask is None else causal_mask(T) & mask
        return self.c_proj.float()(merge_heads(scaled_dot_product_attention(q, k, v, mask)))
''',
    },
}

"""Wrong implementations of the functions learners write in Chapter 7 (generating text)."""

BUGS = {
    "top_k_filter": {
        "ties_dropped_exactly_k_kept": '''
def top_k_filter(logits, k):
    k = min(k, logits.size(-1))
    idx = torch.topk(logits, k, dim=-1).indices
    out = torch.full_like(logits, float("-inf"))
    return out.scatter(-1, idx, logits.gather(-1, idx))
''',
        "le_removes_the_kth_itself": '''
def top_k_filter(logits, k):
    k = min(k, logits.size(-1))
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits <= kth, float("-inf"))
''',
        "keeps_the_k_smallest": '''
def top_k_filter(logits, k):
    k = min(k, logits.size(-1))
    kth = torch.topk(logits, k, dim=-1, largest=False).values[:, -1:]
    return logits.masked_fill(logits > kth, float("-inf"))
''',
        "zero_instead_of_minus_inf": '''
def top_k_filter(logits, k):
    k = min(k, logits.size(-1))
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, 0.0)
''',
        "kth_over_the_whole_batch": '''
def top_k_filter(logits, k):
    k = min(k, logits.size(-1))
    kth = torch.topk(logits.flatten(), k).values[-1]
    return logits.masked_fill(logits < kth, float("-inf"))
''',
        "sorted_index_off_by_one": '''
def top_k_filter(logits, k):
    sorted_logits = torch.sort(logits, dim=-1, descending=True).values
    kth = sorted_logits[:, min(k, logits.size(-1) - 1)].unsqueeze(-1)
    return logits.masked_fill(logits < kth, float("-inf"))
''',
        "k_past_the_vocabulary_crashes": '''
def top_k_filter(logits, k):
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
''',
        "filters_the_input_in_place": '''
def top_k_filter(logits, k):
    k = min(k, logits.size(-1))
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]
    logits[logits < kth] = float("-inf")
    return logits
''',
    },
    "top_p_filter": {
        "drops_the_crossing_token": '''
def top_p_filter(logits, p):
    if p >= 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)
    n_keep = (sorted_probs.cumsum(dim=-1) < p).sum(dim=-1, keepdim=True).clamp(min=1)
    threshold = sorted_probs.gather(-1, n_keep - 1)
    return logits.masked_fill(probs < threshold, float("-inf"))
''',
        "no_sort_vocabulary_order": '''
def top_p_filter(logits, p):
    if p >= 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    mass_ahead = probs.cumsum(dim=-1) - probs
    return logits.masked_fill(mass_ahead >= p, float("-inf"))
''',
        "sorted_mask_applied_in_vocabulary_order": '''
def top_p_filter(logits, p):
    if p >= 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)
    mass_ahead = sorted_probs.cumsum(dim=-1) - sorted_probs
    return logits.masked_fill(mass_ahead >= p, float("-inf"))
''',
        "cumsum_of_logits_not_probabilities": '''
def top_p_filter(logits, p):
    if p >= 1.0:
        return logits.clone()
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    mass_ahead = sorted_logits.cumsum(dim=-1) - sorted_logits
    remove = (mass_ahead >= p).scatter(-1, order, mass_ahead >= p)
    return logits.masked_fill(remove, float("-inf"))
''',
        "ties_at_the_boundary_dropped": '''
def top_p_filter(logits, p):
    if p >= 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    sorted_remove = sorted_probs.cumsum(dim=-1) - sorted_probs >= p
    remove = sorted_remove.scatter(-1, order, sorted_remove)
    return logits.masked_fill(remove, float("-inf"))
''',
        "p_one_drops_the_float32_tail": '''
def top_p_filter(logits, p):
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)
    mass_ahead = sorted_probs.cumsum(dim=-1) - sorted_probs
    n_keep = (mass_ahead < p).sum(dim=-1, keepdim=True)
    threshold = sorted_probs.gather(-1, n_keep - 1)
    return logits.masked_fill(probs < threshold, float("-inf"))
''',
        "softmax_by_hand_overflows": '''
def top_p_filter(logits, p):
    if p >= 1.0:
        return logits.clone()
    probs = logits.exp() / logits.exp().sum(dim=-1, keepdim=True)
    sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)
    mass_ahead = sorted_probs.cumsum(dim=-1) - sorted_probs
    n_keep = (mass_ahead < p).sum(dim=-1, keepdim=True).clamp(min=1)
    threshold = sorted_probs.gather(-1, n_keep - 1)
    return logits.masked_fill(probs < threshold, float("-inf"))
''',
        "cumsum_over_the_batch_axis": '''
def top_p_filter(logits, p):
    if p >= 1.0:
        return logits.clone()
    probs = torch.softmax(logits, dim=-1)
    sorted_probs, _ = torch.sort(probs, dim=-1, descending=True)
    mass_ahead = sorted_probs.cumsum(dim=0) - sorted_probs
    n_keep = (mass_ahead < p).sum(dim=-1, keepdim=True)
    threshold = sorted_probs.gather(-1, n_keep - 1)
    return logits.masked_fill(probs < threshold, float("-inf"))
''',
    },
    "sample_next": {
        "temperature_after_softmax": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    z = logits
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z, dim=-1) / temperature
    return torch.multinomial(probs, num_samples=1, generator=generator)
''',
        "filters_before_temperature": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    z = logits
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z / temperature, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)
''',
        "no_greedy_case_divides_by_zero": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    z = logits / temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)
''',
        "multiplies_by_temperature": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    z = logits * temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)
''',
        "top_p_before_top_k": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    z = logits / temperature
    if top_p is not None:
        z = top_p_filter(z, top_p)
    if top_k is not None:
        z = top_k_filter(z, top_k)
    probs = torch.softmax(z, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)
''',
        "ignores_the_generator": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    z = logits / temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z, dim=-1)
    return torch.multinomial(probs, num_samples=1)
''',
        "greedy_without_keepdim": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(dim=-1)
    z = logits / temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z, dim=-1)
    return torch.multinomial(probs, num_samples=1, generator=generator)
''',
        "softmax_over_the_batch_axis": '''
def sample_next(logits, *, temperature=1.0, top_k=None, top_p=None, generator=None):
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    z = logits / temperature
    if top_k is not None:
        z = top_k_filter(z, top_k)
    if top_p is not None:
        z = top_p_filter(z, top_p)
    probs = torch.softmax(z, dim=0)
    return torch.multinomial(probs, num_samples=1, generator=generator)
''',
    },
    "attend_with_cache": {
        "cache_concatenated_on_the_head_size_axis": '''
def attend_with_cache(q, k, v, past_k, past_v):
    if past_k is not None:
        k = torch.cat([past_k, k], dim=-1)
        v = torch.cat([past_v, v], dim=-1)
    T_new, T_all = q.size(-2), k.size(-2)
    mask = torch.ones(T_new, T_all, dtype=torch.bool).tril(diagonal=T_all - T_new)
    return scaled_dot_product_attention(q, k, v, mask), k, v
''',
        "cache_concatenated_on_the_head_axis": '''
def attend_with_cache(q, k, v, past_k, past_v):
    if past_k is not None:
        k = torch.cat([past_k, k], dim=1)
        v = torch.cat([past_v, v], dim=1)
    T_new, T_all = q.size(-2), k.size(-2)
    mask = torch.ones(T_new, T_all, dtype=torch.bool).tril(diagonal=T_all - T_new)
    return scaled_dot_product_attention(q, k, v, mask), k, v
''',
        "mask_forgets_the_position_offset": '''
def attend_with_cache(q, k, v, past_k, past_v):
    if past_k is not None:
        k = torch.cat([past_k, k], dim=-2)
        v = torch.cat([past_v, v], dim=-2)
    T_new, T_all = q.size(-2), k.size(-2)
    mask = torch.ones(T_new, T_all, dtype=torch.bool).tril()
    return scaled_dot_product_attention(q, k, v, mask), k, v
''',
        "new_keys_before_the_past": '''
def attend_with_cache(q, k, v, past_k, past_v):
    if past_k is not None:
        k = torch.cat([k, past_k], dim=-2)
        v = torch.cat([v, past_v], dim=-2)
    T_new, T_all = q.size(-2), k.size(-2)
    mask = torch.ones(T_new, T_all, dtype=torch.bool).tril(diagonal=T_all - T_new)
    return scaled_dot_product_attention(q, k, v, mask), k, v
''',
        "no_sqrt_hs_scale": '''
def attend_with_cache(q, k, v, past_k, past_v):
    if past_k is not None:
        k = torch.cat([past_k, k], dim=-2)
        v = torch.cat([past_v, v], dim=-2)
    T_new, T_all = q.size(-2), k.size(-2)
    scores = q @ k.transpose(-2, -1)
    mask = torch.ones(T_new, T_all, dtype=torch.bool).tril(diagonal=T_all - T_new)
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v, k, v
''',
        "no_mask_at_all": '''
def attend_with_cache(q, k, v, past_k, past_v):
    if past_k is not None:
        k = torch.cat([past_k, k], dim=-2)
        v = torch.cat([past_v, v], dim=-2)
    return scaled_dot_product_attention(q, k, v), k, v
''',
        "mask_offset_off_by_one": '''
def attend_with_cache(q, k, v, past_k, past_v):
    T_past = 0 if past_k is None else past_k.size(-2)
    if past_k is not None:
        k = torch.cat([past_k, k], dim=-2)
        v = torch.cat([past_v, v], dim=-2)
    T_new, T_all = q.size(-2), k.size(-2)
    mask = torch.ones(T_new, T_all, dtype=torch.bool).tril(diagonal=T_past + 1)
    return scaled_dot_product_attention(q, k, v, mask), k, v
''',
        "returns_only_the_new_keys": '''
def attend_with_cache(q, k, v, past_k, past_v):
    k_all = k if past_k is None else torch.cat([past_k, k], dim=-2)
    v_all = v if past_v is None else torch.cat([past_v, v], dim=-2)
    T_new, T_all = q.size(-2), k_all.size(-2)
    mask = torch.ones(T_new, T_all, dtype=torch.bool).tril(diagonal=T_all - T_new)
    return scaled_dot_product_attention(q, k_all, v_all, mask), k, v
''',
        "float32_mask_bias_downcasts": '''
def attend_with_cache(q, k, v, past_k, past_v):
    if past_k is not None:
        k = torch.cat([past_k, k], dim=-2)
        v = torch.cat([past_v, v], dim=-2)
    T_new, T_all = q.size(-2), k.size(-2)
    bias = torch.full((T_new, T_all), float("-inf")).triu(diagonal=T_all - T_new + 1)
    weights = torch.softmax((q @ k.transpose(-2, -1)).float() / math.sqrt(q.size(-1)) + bias, dim=-1)
    return weights @ v.float(), k, v
''',
    },
}

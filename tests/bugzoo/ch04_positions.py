"""Wrong implementations of the functions learners write in Chapter 4 (positions)."""

BUGS = {
    "sinusoidal_encoding": {
        "sin_and_cos_swapped": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000.0 ** (two_i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.cos(angle)
    pe[:, 1::2] = torch.sin(angle)
    return pe
''',
        "sin_half_then_cos_half": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000.0 ** (two_i / d_model)
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)
''',
        "exponent_i_over_d_not_2i_over_d": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    i = torch.arange(0, d_model // 2, dtype=torch.float32)
    angle = pos / 10000.0 ** (i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe
''',
        "exponent_uses_channel_index": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    channel = torch.arange(d_model, dtype=torch.float32)
    angle = pos / 10000.0 ** (channel / d_model)
    pe = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle[:, 1::2])
    return pe
''',
        "positions_start_at_1": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset + 1, offset + T + 1, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000.0 ** (two_i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe
''',
        "base_1000_not_10000": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 1000.0 ** (two_i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe
''',
        "multiplies_by_the_power_instead_of_dividing": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos * 10000.0 ** (two_i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe
''',
        "ignores_offset": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(T, dtype=torch.float32)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000.0 ** (two_i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe
''',
        "float64_table": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000.0 ** (two_i / d_model)
    pe = torch.zeros(T, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe
''',
        "positions_in_float16": '''
def sinusoidal_encoding(T, d_model, offset=0):
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    pos = torch.arange(offset, offset + T, dtype=torch.float16)[:, None].float()
    two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
    angle = pos / 10000.0 ** (two_i / d_model)
    pe = torch.zeros(T, d_model)
    pe[:, 0::2] = torch.sin(angle)
    pe[:, 1::2] = torch.cos(angle)
    return pe
''',
        "cached_table_of_1024_positions": '''
_TABLE = None
def sinusoidal_encoding(T, d_model, offset=0):
    global _TABLE
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    if _TABLE is None or _TABLE.shape[1] != d_model:
        pos = torch.arange(0, 1024, dtype=torch.float32)[:, None]
        two_i = torch.arange(0, d_model, 2, dtype=torch.float32)
        angle = pos / 10000.0 ** (two_i / d_model)
        _TABLE = torch.zeros(1024, d_model)
        _TABLE[:, 0::2] = torch.sin(angle)
        _TABLE[:, 1::2] = torch.cos(angle)
    return _TABLE[offset:offset + T]
''',
    },
    "rope_cos_sin": {
        "interleaved_layout_not_half_split": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta).repeat_interleave(2, dim=-1)
    return angles.cos(), angles.sin()
''',
        "exponent_j_over_d_not_2j_over_d": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size // 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "positions_start_at_1": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset + 1, offset + T + 1, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "default_base_1000": '''
def rope_cos_sin(T, head_size, base=1000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "returns_sin_then_cos": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.sin(), angles.cos()
''',
        "frequencies_not_inverted": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "base_argument_ignored": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / 10000.0 ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "one_angle_per_channel_not_per_pair": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    return angles.cos(), angles.sin()
''',
        "scale_ignored": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32)
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "divides_by_scale": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float32) / scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "offset_not_scaled": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = offset + torch.arange(T, dtype=torch.float32) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "positions_in_float16": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float16) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
        "float64_tables": '''
def rope_cos_sin(T, head_size, base=10000.0, offset=0, scale=1.0):
    if head_size % 2 != 0:
        raise ValueError("head_size must be even")
    theta = 1.0 / base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size)
    m = torch.arange(offset, offset + T, dtype=torch.float64) * scale
    angles = torch.outer(m, theta)
    angles = torch.cat([angles, angles], dim=-1)
    return angles.cos(), angles.sin()
''',
    },
    "rotate_half": {
        "adjacent_pairs_not_half_split": '''
def rotate_half(x):
    x1, x2 = x[..., 0::2], x[..., 1::2]
    return torch.stack([-x2, x1], dim=-1).flatten(-2)
''',
        "minus_on_the_wrong_half": '''
def rotate_half(x):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x2, -x1], dim=-1)
''',
        "swaps_halves_without_negating": '''
def rotate_half(x):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x2, x1], dim=-1)
''',
        "cat_along_dim_1_not_the_last": '''
def rotate_half(x):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([-x2, x1], dim=0) if x.dim() == 1 else torch.cat([-x2, x1], dim=1)
''',
        "casts_to_float32": '''
def rotate_half(x):
    x = x.float()
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)
''',
        "modifies_x_in_place": '''
def rotate_half(x):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half].clone(), x[..., half:].clone()
    x[..., :half] = -x2
    x[..., half:] = x1
    return x
''',
    },
    "apply_rope": {
        "rotates_the_other_way": '''
def apply_rope(x, cos, sin):
    return x * cos - rotate_half(x) * sin
''',
        "cos_and_sin_swapped": '''
def apply_rope(x, cos, sin):
    return x * sin + rotate_half(x) * cos
''',
        "adjacent_pairs_not_half_split": '''
def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    c, s = cos[..., :half], sin[..., :half]
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack([a * c - b * s, b * c + a * s], dim=-1).flatten(-2)
''',
        "forgets_rotate_half": '''
def apply_rope(x, cos, sin):
    return x * cos + x * sin
''',
        "sin_term_only_on_first_half": '''
def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    out = x * cos
    out[..., :half] = out[..., :half] - x[..., half:] * sin[..., :half]
    return out
''',
        "casts_to_float32": '''
def apply_rope(x, cos, sin):
    x = x.float()
    return x * cos.float() + rotate_half(x) * sin.float()
''',
        "assumes_a_4d_input": '''
def apply_rope(x, cos, sin):
    T = x.size(2)  # (B, nh, T, hs)
    return x * cos[:T] + rotate_half(x) * sin[:T]
''',
    },
}

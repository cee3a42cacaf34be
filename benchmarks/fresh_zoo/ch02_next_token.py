"""Fresh bug zoo for ch02_next_token, written from the release (exercises/ch02_next_token) and the chapter page only.

Each entry is a wrong implementation a learner could plausibly write; most pass the visible tests.
"""

BUGS = {
    "softmax": {
        # One maximum for the whole tensor: a row far below it underflows to 0 / 0.
        "global_max": '''
def softmax(logits, dim=-1):
    e = torch.exp(logits - logits.max())
    return e / e.sum(dim=dim, keepdim=True)
''',
        # `dim` is ignored: always the last axis.
        "ignores_dim": '''
def softmax(logits, dim=-1):
    e = torch.exp(logits - logits.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
''',
        # Max along `dim` but the sum along the last axis.
        "sum_over_last_axis": '''
def softmax(logits, dim=-1):
    e = torch.exp(logits - logits.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)
''',
        # Casts to float32: float64 in, float32 out.
        "float32_output": '''
def softmax(logits, dim=-1):
    z = logits.float()
    e = torch.exp(z - z.amax(dim=dim, keepdim=True))
    return e / e.sum(dim=dim, keepdim=True)
''',
        # In-place shift: the caller's logits are changed.
        "mutates_input": '''
def softmax(logits, dim=-1):
    logits -= logits.amax(dim=dim, keepdim=True)
    e = torch.exp(logits)
    return e / e.sum(dim=dim, keepdim=True)
''',
    },
    "cross_entropy": {
        # log of the softmax: a probability of e^-200 rounds to 0 and its log is -inf.
        "log_of_softmax": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.reshape(-1)
    e = torch.exp(z - z.amax(dim=-1, keepdim=True))
    p = e / e.sum(dim=-1, keepdim=True)
    return -torch.log(p[torch.arange(len(y)), y]).mean()
''',
        # Log-sum-exp without the max: overflows for large logits.
        "logsumexp_without_max": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.reshape(-1)
    lse = torch.log(torch.exp(z).sum(dim=-1))
    return (lse - z[torch.arange(len(y)), y]).mean()
''',
        # view() fails on a non-contiguous slice such as logits[:, :-1].
        "view_not_reshape": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    z = logits.view(-1, V)
    y = targets.view(-1)
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    return (lse - z[torch.arange(len(y)), y]).mean()
''',
        # Only the targets use view(): fails for non-contiguous targets such as data[:, 1:].
        "targets_view": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.view(-1)
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    return (lse - z[torch.arange(len(y)), y]).mean()
''',
        # float32 arithmetic: float64 in, float32 out.
        "float32_output": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    z = logits.reshape(-1, V).float()
    y = targets.reshape(-1)
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    return (lse - z[torch.arange(len(y)), y]).mean()
''',
        # .item() then a new tensor: the right number, but autograd cannot differentiate it.
        "detached_result": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.reshape(-1)
    m = z.amax(dim=-1, keepdim=True)
    lse = m.squeeze(-1) + torch.log(torch.exp(z - m).sum(dim=-1))
    return torch.tensor((lse - z[torch.arange(len(y)), y]).mean().item(), dtype=logits.dtype)
''',
        # One maximum for all rows: a row far below it gives log(0) = -inf.
        "global_max": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    z = logits.reshape(-1, V)
    y = targets.reshape(-1)
    m = z.max()
    lse = m + torch.log(torch.exp(z - m).sum(dim=-1))
    return (lse - z[torch.arange(len(y)), y]).mean()
''',
    },
    "perplexity": {
        # exp in the tensor's dtype: float32 overflows at 88.7 nats per token.
        "exp_in_float32": '''
def perplexity(token_nlls):
    return torch.exp(token_nlls.mean()).item()
''',
        # Mean taken in float32: float64 NLLs lose precision.
        "mean_in_float32": '''
def perplexity(token_nlls):
    return math.exp(token_nlls.float().mean().item())
''',
        # Product of probabilities: underflows to 0 for long texts.
        "product_of_probabilities": '''
def perplexity(token_nlls):
    p = torch.exp(-token_nlls.double()).prod()
    return float(p ** (-1.0 / token_nlls.numel()))
''',
        # Divides by len(), the size of the first axis only.
        "len_first_axis": '''
def perplexity(token_nlls):
    return math.exp(token_nlls.sum().item() / len(token_nlls))
''',
    },
    "get_batch": {
        # len(data) == block_size passes the check, then randint(0, ...) raises RuntimeError.
        "check_off_by_one": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) < block_size:
        raise ValueError(f"data has {len(data)} tokens, need more than block_size={block_size}")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y
''',
        # No check: too-short data raises RuntimeError from randint, not ValueError.
        "no_length_check": '''
def get_batch(data, block_size, batch_size, generator=None):
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y
''',
        # One start too few: never draws the last window, and the batches differ from the library's.
        "randint_minus_one": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens, need more than block_size={block_size}")
    ix = torch.randint(len(data) - block_size - 1, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y
''',
        # The generator is ignored: batches are not reproducible.
        "ignores_generator": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens, need more than block_size={block_size}")
    ix = torch.randint(len(data) - block_size, (batch_size,))
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y
''',
        # generator=None makes a fresh generator instead of using the global one (torch.manual_seed has no effect).
        "fresh_generator_for_none": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens, need more than block_size={block_size}")
    generator = generator or torch.Generator()
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([data[i:i + block_size] for i in ix])
    y = torch.stack([data[i + 1:i + block_size + 1] for i in ix])
    return x, y
''',
        # Rebuilds the windows as int64: the dtype of data is lost.
        "always_int64": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError(f"data has {len(data)} tokens, need more than block_size={block_size}")
    ix = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.tensor([data[i:i + block_size].tolist() for i in ix])
    y = torch.tensor([data[i + 1:i + block_size + 1].tolist() for i in ix])
    return x, y
''',
    },
    "train_bigram": {
        # No zero_grad: gradients accumulate over steps.
        "no_zero_grad": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator=g)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        # `seed` is ignored: always seed 0.
        "ignores_seed": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator=g)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        # AdamW's default weight_decay (0.01) instead of 0.0.
        "default_weight_decay": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator=g)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        # `lr` is ignored: always 0.1.
        "ignores_lr": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator=g)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        # batch_size and block_size are ignored: always the defaults.
        "ignores_batch_and_block_size": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, 64, 32, generator=g)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        # A freshly seeded generator at every step: the same batch every time.
        "same_batch_every_step": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator=torch.Generator().manual_seed(seed))
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        # A new optimizer at every step: AdamW's moment estimates are thrown away.
        "optimizer_every_step": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
        x, y = get_batch(data, block_size, batch_size, generator=g)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        # Plain SGD instead of AdamW.
        "sgd_not_adamw": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator=g)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
    },
}

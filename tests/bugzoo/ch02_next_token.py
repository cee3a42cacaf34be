"""Wrong implementations of the functions learners write in Chapter 2 (predicting the next token)."""

# Bugs of the independent zoo that slipped through once; one source, in benchmarks/fresh_zoo.
from benchmarks.fresh_zoo.ch02_next_token import BUGS as FRESH

BUGS = {
    "softmax": {
        "unstable_no_max_subtraction": '''
def softmax(logits, dim=-1):
    e = torch.exp(logits)
    return e / e.sum(dim=dim, keepdim=True)
''',
        "normalises_over_the_wrong_axis": '''
def softmax(logits, dim=-1):
    z = logits - logits.amax(dim=dim, keepdim=True)
    e = torch.exp(z)
    return e / e.sum(dim=0, keepdim=True)
''',
        "ignores_the_dim_argument": '''
def softmax(logits, dim=-1):
    z = logits - logits.amax(dim=-1, keepdim=True)
    e = torch.exp(z)
    return e / e.sum(dim=-1, keepdim=True)
''',
        "global_max_instead_of_per_row": '''
def softmax(logits, dim=-1):
    e = torch.exp(logits - logits.max())
    return e / e.sum(dim=dim, keepdim=True)
''',
        "sum_without_keepdim_broadcasts_wrongly": '''
def softmax(logits, dim=-1):
    z = logits - logits.amax(dim=dim, keepdim=True)
    e = torch.exp(z)
    return e / e.sum(dim=dim)
''',
        "max_without_keepdim_broadcasts_wrongly": '''
def softmax(logits, dim=-1):
    e = torch.exp(logits - logits.amax(dim=dim))
    return e / e.sum(dim=dim, keepdim=True)
''',
        "normalises_by_the_sum_of_everything": '''
def softmax(logits, dim=-1):
    e = torch.exp(logits - logits.max())
    return e / e.sum()
''',
        "calls_torch_softmax": '''
def softmax(logits, dim=-1):
    return torch.softmax(logits, dim=dim)
''',
        "computes_in_float32": '''
def softmax(logits, dim=-1):
    z = logits.float()  # "softmax in float32"
    z = z - z.amax(dim=dim, keepdim=True)
    e = torch.exp(z)
    return e / e.sum(dim=dim, keepdim=True)
''',
        # From the fresh zoo (benchmarks/fresh_zoo): shift-invariance hid it from every output check.
        "subtracts_the_max_in_place": FRESH["softmax"]["mutates_input"],
    },
    "cross_entropy": {
        "log_of_softmax_underflows": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    probs = softmax(logits.reshape(-1, V), dim=-1)
    targets = targets.reshape(-1)
    return -torch.log(probs[torch.arange(targets.numel()), targets]).mean()
''',
        "logsumexp_without_the_max_trick": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    log_probs = logits - torch.log(torch.exp(logits).sum(dim=-1, keepdim=True))
    return -log_probs[torch.arange(targets.numel()), targets].mean()
''',
        "sum_instead_of_mean": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    return -log_probs[torch.arange(targets.numel()), targets].sum()
''',
        "averages_over_positions_and_vocabulary": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    one_hot = torch.zeros_like(log_probs)
    one_hot[torch.arange(targets.numel()), targets] = 1.0
    return -(one_hot * log_probs).mean()
''',
        "logsumexp_over_the_positions_axis": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    m = logits.amax(dim=0, keepdim=True)
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=0, keepdim=True))
    return -log_probs[torch.arange(targets.numel()), targets].mean()
''',
        "indexes_every_row_with_every_target": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    return -log_probs[:, targets].mean()
''',
        "forgets_the_minus_sign": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    return log_probs[torch.arange(targets.numel()), targets].mean()
''',
        "drops_the_max_after_subtracting_it": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    return -log_probs[torch.arange(targets.numel()), targets].mean()
''',
        "detaches_with_item": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits, targets = logits.reshape(-1, V), targets.reshape(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - m - torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True))
    return torch.tensor(-log_probs[torch.arange(targets.numel()), targets].mean().item())
''',
        "calls_torch_cross_entropy": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1))
''',
        "view_fails_on_sliced_logits": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits = logits.view(-1, V)  # a slice such as logits[:, :-1] cannot be viewed
    targets = targets.view(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - (m + torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True)))
    return -log_probs[torch.arange(targets.numel()), targets].mean()
''',
        "returns_float32": '''
def cross_entropy(logits, targets):
    V = logits.shape[-1]
    logits = logits.reshape(-1, V).float()
    targets = targets.reshape(-1)
    m = logits.amax(dim=-1, keepdim=True)
    log_probs = logits - (m + torch.log(torch.exp(logits - m).sum(dim=-1, keepdim=True)))
    return -log_probs[torch.arange(targets.numel()), targets].mean()
''',
    },
    "perplexity": {
        "exp_of_the_summed_loss": '''
def perplexity(token_nlls):
    return math.exp(float(token_nlls.sum()))
''',
        "two_to_the_loss_in_nats": '''
def perplexity(token_nlls):
    return 2 ** float(token_nlls.mean())
''',
        "mean_of_per_token_perplexities": '''
def perplexity(token_nlls):
    return float(torch.exp(token_nlls).mean())
''',
        "inverse_of_the_mean_probability": '''
def perplexity(token_nlls):
    return float(1.0 / torch.exp(-token_nlls).mean())
''',
        "sign_flipped_gives_the_inverse": '''
def perplexity(token_nlls):
    return math.exp(-float(token_nlls.mean()))
''',
        "returns_a_tensor": '''
def perplexity(token_nlls):
    return torch.exp(token_nlls.mean())
''',
        "torch_exp_overflows_in_float32": '''
def perplexity(token_nlls):
    return torch.exp(token_nlls.mean()).item()  # float32 exp: inf above ~88.7 nats
''',
        "mean_in_float32": '''
def perplexity(token_nlls):
    return math.exp(token_nlls.float().mean().item())
''',
    },
    "get_batch": {
        "targets_not_shifted": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[starts[:, None] + offsets]
    return x, x.clone()
''',
        "targets_shifted_by_two": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size + 1:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size - 1, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    return data[starts[:, None] + offsets], data[starts[:, None] + offsets + 2]
''',
        "targets_before_inputs": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    return data[starts[:, None] + offsets + 1], data[starts[:, None] + offsets]
''',
        "start_range_one_too_large": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size + 1, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    ends = (starts[:, None] + offsets + 1).clamp(max=len(data) - 1)
    return data[starts[:, None] + offsets], data[ends]
''',
        "last_window_never_drawn": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size + 1:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size - 1, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    return data[starts[:, None] + offsets], data[starts[:, None] + offsets + 1]
''',
        "ignores_the_generator": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size, (batch_size,))
    offsets = torch.arange(block_size)
    return data[starts[:, None] + offsets], data[starts[:, None] + offsets + 1]
''',
        "one_start_for_the_whole_batch": '''
def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    x = data[starts[0] + offsets].repeat(batch_size, 1)
    y = data[starts[0] + offsets + 1].repeat(batch_size, 1)
    return x, y
''',
        "no_length_check": '''
def get_batch(data, block_size, batch_size, generator=None):
    starts = torch.randint(max(len(data) - block_size, 1), (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    idx = starts[:, None] + offsets
    return data[idx.clamp(max=len(data) - 1)], data[(idx + 1).clamp(max=len(data) - 1)]
''',
        "fresh_generator_when_none": '''def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError("too few tokens")
    if generator is None:
        generator = torch.Generator()  # the same default seed every call
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    offsets = torch.arange(block_size)
    return data[starts[:, None] + offsets], data[starts[:, None] + offsets + 1]
''',
        "rows_rebuilt_as_int64": '''def get_batch(data, block_size, batch_size, generator=None):
    if len(data) <= block_size:
        raise ValueError("too few tokens")
    starts = torch.randint(len(data) - block_size, (batch_size,), generator=generator)
    x = torch.stack([torch.tensor(data[s:s + block_size].tolist()) for s in starts])
    y = torch.stack([torch.tensor(data[s + 1:s + block_size + 1].tolist()) for s in starts])
    return x, y
''',
    },
    "train_bigram": {
        "never_zeroes_the_gradients": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
''',
        "steps_before_backward": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        optimizer.step()
        optimizer.zero_grad()
        loss.backward()
        losses.append(loss.item())
    return losses
''',
        "targets_are_the_inputs": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator)
        logits, _ = model(x)
        loss = cross_entropy(logits, x)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
''',
        "optimizer_created_every_step": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
        x, y = get_batch(data, block_size, batch_size, generator)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
''',
        "generator_reseeded_every_step": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, torch.Generator().manual_seed(seed))
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
''',
        "records_loss_tensors": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss)
    return losses
''',
        "ignores_the_settings": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.0)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, 64, 32, generator)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
''',
        "adamw_default_weight_decay": '''
def train_bigram(model, data, steps, batch_size=32, block_size=64, lr=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        x, y = get_batch(data, block_size, batch_size, generator)
        logits, _ = model(x)
        loss = cross_entropy(logits, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses
''',
    },
}

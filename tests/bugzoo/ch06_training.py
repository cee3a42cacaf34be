"""Wrong implementations of the functions learners write in Chapter 6 (training it, fast)."""

BUGS = {
    "get_lr": {
        "warmup_off_by_one_starts_at_zero": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * it / cfg.warmup_iters
    if it > cfg.lr_decay_iters or cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
        "warmup_one_step_too_long": '''
def get_lr(it, cfg):
    if it <= cfg.warmup_iters and cfg.warmup_iters > 0:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters or cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
        "cosine_never_reaches_min_lr": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / cfg.lr_decay_iters  # forgot to subtract the warmup
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
        "decays_past_lr_decay_iters": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)  # no clamp: > 1 later
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
        "cosine_decays_to_zero_not_min_lr": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters or cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return 0.5 * cfg.lr * (1.0 + math.cos(math.pi * progress))
''',
        "progress_counted_from_step_zero": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    progress = it / cfg.lr_decay_iters  # the cosine starts below lr: a jump down after warmup
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
        "linear_decay_instead_of_cosine": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters or cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.lr - progress * (cfg.lr - cfg.min_lr)
''',
        "divides_by_zero_without_decay_phase": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
    },
    "param_groups": {
        "decays_layernorm_and_biases_too": '''
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": params, "weight_decay": weight_decay},
        {"params": [], "weight_decay": 0.0},
    ]
''',
        "decides_by_name_weight": '''
def param_groups(model, weight_decay):
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    decay = [p for n, p in named if n.endswith("weight")]  # LayerNorm gains are "weight" too
    no_decay = [p for n, p in named if not n.endswith("weight")]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
''',
        "no_decay_group_without_weight_decay_key": '''
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2]},  # gets AdamW's default 0.01
    ]
''',
        "tied_weight_listed_twice": '''
def param_groups(model, weight_decay):
    decay = [m.weight for m in model.modules() if isinstance(m, (nn.Linear, nn.Embedding))]
    seen = {id(p) for p in decay}
    no_decay = [p for p in model.parameters() if id(p) not in seen and p.requires_grad]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
''',
        "groups_swapped": '''
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() < 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.0},
    ]
''',
        "embeddings_not_decayed": '''
def param_groups(model, weight_decay):
    decay = [m.weight for m in model.modules() if isinstance(m, nn.Linear) and m.weight.requires_grad]
    decay = list({id(p): p for p in decay}.values())
    seen = {id(p) for p in decay}
    no_decay = [p for p in model.parameters() if id(p) not in seen and p.requires_grad]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
''',
        "frozen_parameters_included": '''
def param_groups(model, weight_decay):
    params = list(model.parameters())
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
''',
    },
    "train_step": {
        "zero_grad_inside_the_accumulation_loop": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        optimizer.zero_grad(set_to_none=True)  # wipes the micro-batches before this one
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        "never_zeroes_the_gradients": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    return total
''',
        "loss_not_divided_by_accum_steps": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss.backward()  # the gradient of the SUM of the micro-batch losses
        total += loss.item() / grad_accum_steps
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        "clips_after_the_optimizer_step": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    optimizer.step()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)  # too late: the step is taken
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        "clips_each_micro_batch": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)  # clips a partial sum
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        "steps_after_every_micro_batch": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
        if grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return total
''',
        "one_batch_reused_for_every_micro_batch": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    x, y = next_batch()
    for _ in range(grad_accum_steps):
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        "returns_the_last_micro_batch_loss": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        (loss / grad_accum_steps).backward()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.item()
''',
        "clips_each_parameter_separately": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        for p in model.parameters():  # per-tensor norms, not the global norm
            if p.grad is not None:
                torch.nn.utils.clip_grad_norm_([p], grad_clip)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
    },
}

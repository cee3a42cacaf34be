"""Wrong implementations of the functions learners write in Chapter 6 (training it, fast)."""

# Bugs of the independent zoo that slipped through once; one source, in benchmarks/fresh_zoo.
from benchmarks.fresh_zoo.ch06_training import BUGS as FRESH

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
        "decays_over_max_iters_not_lr_decay_iters": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.max_iters or cfg.max_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.max_iters - cfg.warmup_iters)  # the run's length, not the decay's
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
        "warmup_integer_division": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * ((it + 1) // cfg.warmup_iters)  # 0 until the last warmup step
    if it > cfg.lr_decay_iters or cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
''',
        "absolute_floor_on_tiny_rates": '''
def get_lr(it, cfg):
    if it < cfg.warmup_iters:
        return cfg.lr * (it + 1) / cfg.warmup_iters
    if it > cfg.lr_decay_iters or cfg.lr_decay_iters == cfg.warmup_iters:
        return cfg.min_lr
    progress = (it - cfg.warmup_iters) / (cfg.lr_decay_iters - cfg.warmup_iters)
    lr = cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1.0 + math.cos(math.pi * progress))
    return round(lr, 6)  # "tidy" rates: 1e-8 becomes 0
''',
    },
    "adamw_step": {
        "l2_penalty_in_the_gradient": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    grad = grad + weight_decay * theta  # Adam + L2: the decay is divided by sqrt(v_hat) too
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (v_hat.sqrt() + eps), m, v
''',
        "papers_lambda_without_lr": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta * (1 - weight_decay) - lr * m_hat / (v_hat.sqrt() + eps)
    return theta, m, v
''',
        "decay_applied_after_the_adam_step": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = (theta - lr * m_hat / (v_hat.sqrt() + eps)) * (1 - lr * weight_decay)
    return theta, m, v
''',
        "no_bias_correction": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m
    v_hat = v
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        "bias_correction_of_m_only": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        "bias_correction_with_t_plus_one": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**(t + 1))
    v_hat = v / (1 - beta2**(t + 1))
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        "eps_inside_the_square_root": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * (m_hat / (v_hat + eps).sqrt() + weight_decay * theta)
    return theta, m, v
''',
        "betas_swapped": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas[::-1]
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        "betas_argument_ignored": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = (0.9, 0.999)
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        "eps_argument_ignored": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + 1e-8) + weight_decay * theta)
    return theta, m, v
''',
        "no_decay_by_default": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta), m, v
''',
        "float32_arithmetic": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    theta, grad, m, v = theta.float(), grad.float(), m.float(), v.float()  # "GPUs like float32"
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta), m, v
''',
        "float32_result_cast_back": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    dtype = theta.dtype
    theta, grad, m, v = theta.float(), grad.float(), m.float(), v.float()
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta.to(dtype), m.to(dtype), v.to(dtype)  # the right dtype, float32's precision
''',
        "updates_the_arguments_in_place": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m.mul_(beta1).add_(grad, alpha=1 - beta1)  # the caller's m and v change under it
    v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
''',
        "absolute_gradient_in_v": '''
def adamw_step(theta, grad, m, v, t, *, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad.abs()
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    theta = theta - lr * (m_hat / (v_hat.sqrt() + eps) + weight_decay * theta)
    return theta, m, v
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
        "exactly_two_dimensions": '''
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() == 2], "weight_decay": weight_decay},  # a 3-D kernel is left out
        {"params": [p for p in params if p.dim() != 2], "weight_decay": 0.0},
    ]
''',
        "linear_and_embedding_modules_only": '''
def param_groups(model, weight_decay):
    decay = {}
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)) and m.weight.requires_grad:
            decay[id(m.weight)] = m.weight  # de-duplicated, but a Conv or a bare Parameter is missed
    no_decay = [p for p in model.parameters() if id(p) not in decay and p.requires_grad]
    return [
        {"params": list(decay.values()), "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
''',
        "weight_decay_hard_coded": '''
def param_groups(model, weight_decay):
    params = [p for p in model.parameters() if p.requires_grad]
    return [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},  # the usual value, not the argument
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
        "clips_values_not_the_norm": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_value_(model.parameters(), grad_clip)  # each element, not the global norm
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        "returns_the_mean_divided_twice": '''
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
    return total / grad_accum_steps  # already a mean
''',
        "clip_threshold_divided_by_accum_steps": '''
def train_step(model, optimizer, next_batch, *, grad_accum_steps=1, grad_clip=0.0):
    total = 0.0
    for _ in range(grad_accum_steps):
        x, y = next_batch()
        _, loss = model(x, y)
        loss = loss / grad_accum_steps
        loss.backward()
        total += loss.item()
    if grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip / grad_accum_steps)  # "per micro-batch"
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return total
''',
        # from the fresh zoo (benchmarks/fresh_zoo): rescales to grad_clip even when the norm is below it
        "always_rescales_to_grad_clip": FRESH["train_step"]["always_rescales_to_clip"],
    },
    "train_with_lr": {
        "constant_rate_no_schedule": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    optimizer = YourAdamW(param_groups(model, cfg.weight_decay), lr=lr, betas=(cfg.beta1, cfg.beta2))
    windows = sweep_windows()
    for it in range(cfg.max_iters):  # the peak rate at every step: no warmup, no decay
        train_step(model, optimizer, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        "schedule_of_the_default_config": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    optimizer = YourAdamW(param_groups(model, cfg.weight_decay), lr=lr, betas=(cfg.beta1, cfg.beta2))
    windows = sweep_windows()
    schedule = TrainConfig()  # the defaults' lr, not the swept one
    for it in range(cfg.max_iters):
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, schedule)
        train_step(model, optimizer, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        "one_model_for_the_whole_sweep": '''
_model = sweep_model()


def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = _model  # each rate continues from where the previous one stopped
    optimizer = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    windows = sweep_windows()
    for it in range(cfg.max_iters):
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, cfg)
        train_step(model, optimizer, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        "schedule_one_step_ahead": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    optimizer = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    windows = sweep_windows()
    for it in range(1, cfg.max_iters + 1):  # steps counted from 1: warmup skips its first rate
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, cfg)
        train_step(model, optimizer, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    return val_loss(model)
''',
        "no_gradient_clipping": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    optimizer = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    windows = sweep_windows()
    for it in range(cfg.max_iters):
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, cfg)
        train_step(model, optimizer, windows.next, grad_accum_steps=cfg.grad_accum_steps)  # grad_clip left at 0
    return val_loss(model)
''',
        "evaluates_on_a_training_batch": '''
def train_with_lr(lr, steps=SWEEP_STEPS):
    cfg = sweep_config(lr, steps)
    model = sweep_model()
    optimizer = YourAdamW(param_groups(model, cfg.weight_decay), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    windows = sweep_windows()
    for it in range(cfg.max_iters):
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it, cfg)
        train_step(model, optimizer, windows.next, grad_accum_steps=cfg.grad_accum_steps, grad_clip=cfg.grad_clip)
    with torch.no_grad():
        return model(*windows.next())[1].item()  # the training stream, not the validation windows
''',
        # from the fresh zoo: param_groups(model, 0.0), no decay (within 0.003 of the library's run at 1e-3)
        "no_weight_decay": FRESH["train_with_lr"]["no_weight_decay"],
        # from the fresh zoo: loops over SWEEP_STEPS whatever steps is (the sweep only uses the default)
        "ignores_steps": FRESH["train_with_lr"]["ignores_steps"],
        # from the fresh zoo: sweep_config(lr) without steps, so the schedule always spans 40 steps
        "config_ignores_steps": FRESH["train_with_lr"]["config_ignores_steps"],
    },
}

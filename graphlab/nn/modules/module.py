"""``nn.Module``: the base class of layers and models (PyTorch's names and semantics).

A module registers what is assigned to it: a :class:`~graphlab.nn.Parameter` goes to
``_parameters``, a module to ``_modules``, a buffer (``register_buffer`` or ``nn.Buffer``) to
``_buffers``. Everything else (listing, ``state_dict``, device moves, ``repr``) walks those three
dicts. Tied parameters are one object reached by several names; they are de-duplicated in one
place, :meth:`Module._named_members`.

Calling a module runs ``forward`` inside a *scope*: the module is pushed on a thread-local stack
(:func:`current_scope`) that the trace recorder reads, and ``module_observers`` are told when a
module is entered and left. When a forward raises a ``ValueError``/``RuntimeError``/
``TypeError``/``IndexError``, the innermost module prefixes the message, once, with its path in
the model and its repr, e.g. ``net.2 (Linear(in_features=256, out_features=10, bias=True)): …``.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Mapping

from ... import _dtype
from ..._device import device as _device_cls
from ...autograd import grad_mode
from ...autograd.function import RemovableHandle
from ...tensor import Tensor
from ..parameter import Buffer, Parameter, is_lazy
from ._registry import Registry
from .hooks import BackwardHookCall, Hook, add_hook

__all__ = [
    "Module",
    "current_scope",
    "module_observers",
    "add_module_observer",
    "top_level_observers",
    "top_level_call",
]

# ----- scopes: which modules are running right now --------------------------------------------


class _Scope(threading.local):
    def __init__(self):
        self.stack: list[Module] = []


_scope = _Scope()

# Callables ``fn(event, module)`` told when a module's call starts (``"enter"``) and ends
# (``"exit"``, also when it raises). The trace recorder hooks in here; empty means no cost.
module_observers: list = []

# Callables ``fn(module, args, kwargs)`` told when a *top-level* call starts (no module above it
# on this thread's stack). Cheaper than ``module_observers``: nested calls keep the fast path.
top_level_observers: list = []


def current_scope() -> list[Module]:
    """The modules being called on this thread, outermost first (the live stack; don't edit)."""
    return _scope.stack


def top_level_call(root, args: tuple, kwargs: dict) -> None:
    """Tell ``top_level_observers`` that a top-level call of ``root`` starts (the trace recorder
    opens a pass). ``Module.__call__`` calls it for a module with none above it; a callable that
    stands in for a module's call (a ``graphlab.jit`` static graph) calls it the same way."""
    for obs in tuple(top_level_observers):
        obs(root, args, kwargs)


def add_module_observer(fn: Callable[[str, Module], None]) -> RemovableHandle:
    """Call ``fn("enter" | "exit", module)`` around every module call; returns a handle."""
    module_observers.append(fn)
    return RemovableHandle(module_observers, fn)


# ----- errors that name the layer ---------------------------------------------------------------

_ANNOTATED = (ValueError, RuntimeError, TypeError, IndexError)


def _module_path(stack: list[Module], with_root: bool = True) -> str:
    """The dotted path of ``stack[-1]`` in the model ``stack[0]``, e.g. ``net.0.2``.

    Each step is resolved in the calling module's ``named_modules`` (a module's forward may call
    a grandchild directly); a module the caller does not own shows as its class name.
    """
    parts = [_root_name(stack[0])] if with_root else []
    for parent, child in zip(stack, stack[1:]):
        if child is parent:
            continue
        for name, m in parent.named_modules():
            if m is child and name:
                parts.append(name)
                break
        else:
            parts.append(f"<{type(child).__name__}>")
    return ".".join(parts)


def _root_name(root: Module) -> str:
    """The name the user's code calls ``root`` by (``net``), else its class name.

    Only used on the error path: it looks at the frame that called the outermost module.
    """
    f = sys._getframe(1)
    caller = None
    while f is not None:
        if f.f_code is _CALL_CODE and f.f_locals.get("self") is root:
            caller = f.f_back
        f = f.f_back
    if caller is not None:
        for scope in (caller.f_locals, caller.f_globals):
            for k, v in scope.items():
                if v is root and k != "self":
                    return k
        owner = caller.f_locals.get("self")
        if owner is not None and hasattr(owner, "__dict__"):
            for k, v in vars(owner).items():
                if v is root:
                    return f"self.{k}"
    return type(root).__name__


def _short_repr(m: Module) -> str:
    try:
        r = repr(m)
    except Exception:  # noqa: BLE001 - a broken extra_repr must not hide the real error
        return m._get_name()
    return r if "\n" not in r else m._get_name()


def _annotate(exc: BaseException, stack: list[Module]) -> None:
    """Prefix ``exc``'s message with the failing module's path and repr (once per exception)."""
    if getattr(exc, "_graphlab_module_path", None) is not None:
        return
    try:
        path = _module_path(stack)
        label = f"{path} ({_short_repr(stack[-1])})"
        exc._graphlab_module_path = path
    except Exception:  # noqa: BLE001 - never replace the user's error with ours
        return
    if exc.args and isinstance(exc.args[0], str):
        exc.args = (f"{label}: {exc.args[0]}",) + exc.args[1:]
    else:
        exc.add_note(f"raised in {label}")


# ----- the Module class -------------------------------------------------------------------------

_IncompatibleKeysBase = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _IncompatibleKeys(_IncompatibleKeysBase):
    """What ``load_state_dict(strict=False)`` returns: the missing and unexpected keys."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _addindent(s: str, n: int) -> str:
    lines = s.split("\n")
    if len(lines) == 1:
        return s
    first = lines.pop(0)
    return first + "\n" + "\n".join((n * " ") + ln if ln.strip() else "" for ln in lines)


def _kind(t: Tensor) -> str:
    k = t.dtype.np.kind
    return "i" if k in "iu" else k


def _check_name(kind: str, owner: Module, name) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{kind} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{kind} name can\'t contain ".", got: {name}')


class Module:
    """Base class for all layers and models: subclass it, assign layers and parameters as
    attributes in ``__init__`` (after ``super().__init__()``), and write ``forward``.

    >>> class MLP(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.hidden = nn.Linear(20, 256)
    ...         self.out = nn.Linear(256, 10)
    ...     def forward(self, x):
    ...         return self.out(F.relu(self.hidden(x)))
    """

    training: bool
    _version: int = 1

    def __init__(self, *args, **kwargs) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments: args={args}, "
                f"kwargs={sorted(kwargs)}; Module.__init__ takes none"
            )
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = Registry()
        d["_buffers"] = {}
        d["_non_persistent_buffers_set"] = set()
        d["_modules"] = Registry()
        d["_forward_pre_hooks"] = []
        d["_forward_hooks"] = []
        d["_backward_hooks"] = []
        d["_backward_pre_hooks"] = []

    def forward(self, *args, **kwargs):
        """The computation of this module; subclasses must override it."""
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function; '
            "define forward(self, ...) in your subclass"
        )

    # ----- calling ------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        stack = _scope.stack
        stack.append(self)
        try:
            if top_level_observers and len(stack) == 1:
                top_level_call(self, args, kwargs)
            if (
                self._forward_pre_hooks
                or self._forward_hooks
                or self._backward_hooks
                or self._backward_pre_hooks
                or module_observers
            ):
                return self._call_impl(args, kwargs)
            return self.forward(*args, **kwargs)
        except _ANNOTATED as exc:
            _annotate(exc, stack)
            raise
        finally:
            stack.pop()

    def _call_impl(self, args: tuple, kwargs: dict):
        """The call with hooks and observers (the fast path in ``__call__`` skips all this)."""
        for obs in tuple(module_observers):
            obs("enter", self)
        result = None
        try:
            for h in tuple(self._forward_pre_hooks):
                if h.with_kwargs:
                    r = h.fn(self, args, kwargs)
                    if r is not None:
                        if not (isinstance(r, tuple) and len(r) == 2):
                            raise RuntimeError(
                                "forward pre-hook registered with_kwargs=True must return None "
                                f"or a tuple (new_args, new_kwargs), got {type(r).__name__}"
                            )
                        args, kwargs = r
                else:
                    r = h.fn(self, args)
                    if r is not None:
                        args = r if isinstance(r, tuple) else (r,)
            bw = None
            if (self._backward_hooks or self._backward_pre_hooks) and grad_mode.is_grad_enabled():
                bw = BackwardHookCall(self, args)
                args = bw.wrap_inputs(args)
            result = self.forward(*args, **kwargs)
            for h in tuple(self._forward_hooks):
                if h.with_kwargs:
                    r = h.fn(self, args, kwargs, result)
                else:
                    r = h.fn(self, args, result)
                if r is not None:
                    result = r
            if bw is not None:
                result = bw.wrap_outputs(result)
            return result
        except BaseException:
            for h in tuple(self._forward_hooks):
                if h.always_call:
                    try:
                        if h.with_kwargs:
                            h.fn(self, args, kwargs, result)
                        else:
                            h.fn(self, args, result)
                    except Exception:  # noqa: BLE001, S110 - the original error matters more
                        pass
            raise
        finally:
            for obs in tuple(module_observers):
                obs("exit", self)

    # ----- hooks --------------------------------------------------------------------------
    def register_forward_pre_hook(
        self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Run ``hook(module, args) -> None | new_args`` before each ``forward``.

        With ``with_kwargs=True`` the hook is ``hook(module, args, kwargs) -> None |
        (new_args, new_kwargs)``. Returns a handle whose ``remove()`` unregisters it.
        """
        return add_hook(self._forward_pre_hooks, Hook(hook, with_kwargs), prepend)

    def register_forward_hook(
        self,
        hook: Callable,
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Run ``hook(module, args, output) -> None | new_output`` after each ``forward``.

        ``with_kwargs=True`` passes ``(module, args, kwargs, output)``; ``always_call=True`` also
        runs it (with ``output=None``, result ignored) when the forward raises.
        """
        return add_hook(self._forward_hooks, Hook(hook, with_kwargs, always_call), prepend)

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Run ``hook(module, grad_input, grad_output) -> None | new_grad_input`` in backward.

        ``grad_input`` has one entry per positional input (``None`` where it is not a tensor
        that requires grad); ``grad_output`` one per output tensor. Keyword inputs are ignored.
        """
        return add_hook(self._backward_hooks, Hook(hook), prepend)

    def register_full_backward_pre_hook(
        self, hook: Callable, prepend: bool = False
    ) -> RemovableHandle:
        """Run ``hook(module, grad_output) -> None | new_grad_output`` before the module's
        input gradients are computed."""
        return add_hook(self._backward_pre_hooks, Hook(hook), prepend)

    # ----- registration -------------------------------------------------------------------
    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (or ``None``, a placeholder) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name("parameter", self, name)
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is None:
            self._parameters[name] = None
            return
        if not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' "
                "(graphlab.nn.Parameter or None required); wrap it: nn.Parameter(tensor)"
            )
        if param.grad_fn is not None:
            raise ValueError(
                f"Cannot assign non-leaf Tensor to parameter '{name}'. Model parameters must be "
                f"created explicitly. To express '{name}' as a function of another Tensor, "
                "compute the value in the forward() method."
            )
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add a buffer (state that is not a parameter, e.g. running statistics).

        Persistent buffers are part of ``state_dict``; all buffers move with ``to()``.
        """
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name("buffer", self, name)
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                "(graphlab Tensor or None required)"
            )
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name`` (an attribute, and a key in ``named_children``)."""
        if not isinstance(module, Module) and module is not None:
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name("module", self, name)
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                return s[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, keep="_parameters")
            self.register_parameter(name, value)
            return
        if params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' "
                    "(graphlab.nn.Parameter or None expected); to change its values use "
                    f"self.{name}.data = … or wrap it in nn.Parameter"
                )
            self.register_parameter(name, value)
            return
        modules = d.get("_modules")
        if isinstance(value, Module):
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, keep="_modules")
            modules[name] = value
            return
        if modules is not None and name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' "
                    "(graphlab.nn.Module or None expected)"
                )
            modules[name] = value
            return
        buffers = d.get("_buffers")
        if isinstance(value, Buffer) or (buffers is not None and name in buffers):
            if buffers is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as buffer '{name}' "
                    "(graphlab Tensor or None expected)"
                )
            if isinstance(value, Buffer):
                persistent = value.persistent
                self._forget(name, keep="_buffers")
            else:
                persistent = name not in self._non_persistent_buffers_set
            self.register_buffer(name, value, persistent)
            return
        object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str) -> None:
        """Remove ``name`` from the plain attributes and every registry but ``keep``."""
        d = self.__dict__
        d.pop(name, None)
        for store in ("_parameters", "_buffers", "_modules"):
            if store != keep:
                d[store].pop(name, None)
        if keep != "_buffers":
            d["_non_persistent_buffers_set"].discard(name)

    def __delattr__(self, name: str) -> None:
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            s = d.get(store)
            if s is not None and name in s:
                del s[name]
                d["_non_persistent_buffers_set"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        keys = list(super().__dir__())
        keys += list(self._parameters) + list(self._modules) + list(self._buffers)
        return sorted(k for k in set(keys) if not k[:1].isdigit())

    # ----- walking the tree ---------------------------------------------------------------
    def named_modules(
        self, memo: set | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(dotted_name, module)`` for this module (name ``prefix``) and all below it.

        A module reachable by two names is listed once unless ``remove_duplicate=False``.
        """
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        if remove_duplicate:
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            sub = prefix + ("." if prefix else "") + name
            yield from module.named_modules(memo, sub, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every module below it (each once)."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for the direct children (each module once)."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """The direct child modules (each once)."""
        for _, m in self.named_children():
            yield m

    def _named_members(self, get_members, prefix: str, recurse: bool, remove_duplicate: bool):
        """The one place where shared tensors are de-duplicated (by identity)."""
        seen: set[int] = set()
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mprefix, module in mods:
            for k, v in get_members(module):
                if v is None or id(v) in seen:
                    continue
                if remove_duplicate:
                    seen.add(id(v))
                yield mprefix + ("." if mprefix else "") + k, v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """``(dotted_name, parameter)`` pairs; a tied parameter is listed once (under its first
        name) unless ``remove_duplicate=False``, which lists it under every name."""
        return self._named_members(
            lambda m: m._parameters.items(), prefix, recurse, remove_duplicate
        )

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """The parameters (each distinct one once): what an optimizer should update."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """``(dotted_name, buffer)`` pairs (persistent or not)."""
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """The buffers (each distinct one once)."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        """The module at dotted path ``target`` (``""`` is this module)."""
        if target == "":
            return self
        mod = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{mod._get_name()} has no attribute `{item}`")
            mod = getattr(mod, item)
            if not isinstance(mod, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
        return mod

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target``, e.g. ``"0.weight"``."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if not hasattr(mod, name):
            raise AttributeError(f"{mod._get_name()} has no attribute `{name}`")
        p = getattr(mod, name)
        if not isinstance(p, Parameter):
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return p

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``."""
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        if name not in mod._buffers:
            raise AttributeError(f"`{name}` is not a buffer of {mod._get_name()}")
        return mod._buffers[name]

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call ``fn`` on every child (recursively) and then on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ----- modes and gradients ------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Put this module and all below it in training mode (``False``: evaluation mode)."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        self.training = mode
        for m in self.children():
            m.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, batch norm uses running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter in place; returns self."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to ``None`` by default, else to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()
                p.grad.zero_()

    # ----- state dicts --------------------------------------------------------------------
    def _state_items(self):
        """This module's own entries of ``state_dict``: parameters, then persistent buffers."""
        for name, p in self._parameters.items():
            if p is not None:
                yield name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers_set:
                yield name, b

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        """Put this module's own entries into ``destination`` (override to customize)."""
        for name, t in self._state_items():
            destination[prefix + name] = t if keep_vars or is_lazy(t) else t.detach()

    def state_dict(
        self, *, destination: dict | None = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """Parameters and persistent buffers by dotted name, detached (sharing storage).

        A tied parameter appears under each of its names (all the same storage).
        """
        if destination is None:
            destination = OrderedDict()
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(
                    destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars
                )
        return destination

    def load_state_dict(self, state_dict: Mapping, strict: bool = True) -> _IncompatibleKeys:
        """Copy values from ``state_dict`` into the parameters and buffers, in place.

        Everything is checked first: missing keys, unexpected keys (both errors when
        ``strict``), shape mismatches and dtype-kind mismatches (float vs int vs bool; always
        errors) are all collected and raised together in one ``RuntimeError``, and nothing is
        copied if any is found. Values are copied into the existing tensors (cast to their dtype
        and moved to their device), so tied parameters stay tied and optimizers keep working.
        Uninitialized (lazy) parameters are materialized with the loaded shape. Returns the
        ``(missing_keys, unexpected_keys)`` named tuple.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected state_dict to be dict-like, got "
                f"{type(state_dict).__name__}"
            )
        expected: dict[str, Tensor] = {}
        for mprefix, module in self.named_modules(remove_duplicate=False):
            pre = mprefix + "." if mprefix else ""
            for name, t in module._state_items():
                expected[pre + name] = t
        missing = [k for k in expected if k not in state_dict]
        unexpected = [k for k in state_dict if k not in expected]
        errors: list[str] = []
        plan: list[tuple[Tensor, Tensor]] = []
        for key, target in expected.items():
            if key not in state_dict:
                continue
            src = state_dict[key]
            if not isinstance(src, Tensor):
                errors.append(
                    f'While copying the parameter named "{key}", expected a graphlab Tensor '
                    f"from checkpoint but received {type(src)}"
                )
                continue
            if is_lazy(src):
                errors.append(
                    f'the checkpoint\'s "{key}" is an uninitialized (lazy) parameter; run a '
                    "forward pass on the saved model before saving its state_dict"
                )
                continue
            if is_lazy(target):
                if _kind(src) != _kind(target):
                    errors.append(_dtype_msg(key, src, target))
                    continue
                plan.append((target, src))
                continue
            if tuple(src.shape) != tuple(target.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {src.shape} from "
                    f"checkpoint, the shape in current model is {target.shape}."
                )
            elif _kind(src) != _kind(target):
                errors.append(_dtype_msg(key, src, target))
            else:
                plan.append((target, src))
        if strict:
            if unexpected:
                errors.insert(
                    0,
                    "Unexpected key(s) in state_dict: "
                    + ", ".join(f'"{k}"' for k in unexpected)
                    + ". ",
                )
            if missing:
                errors.insert(
                    0,
                    "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ",
                )
        if errors:
            raise RuntimeError(
                f"Error(s) in loading state_dict for {self._get_name()}:\n\t"
                + "\n\t".join(errors)
                + "\nNothing was loaded: the model is unchanged. Fix the checkpoint or the model "
                "(strict=False ignores missing and unexpected keys, never mismatches)."
            )
        with grad_mode.no_grad():
            for target, src in plan:
                if is_lazy(target):
                    target.materialize(tuple(src.shape))
                target.copy_(src)
        return _IncompatibleKeys(missing, unexpected)

    # ----- devices and dtypes -------------------------------------------------------------
    def _apply(self, fn: Callable[[Tensor], Tensor], device=None, dtype=None) -> Module:
        """Convert every parameter (in place: ``p.data = fn(p.data)``), its gradient, and every
        buffer. ``device``/``dtype`` tell uninitialized tensors where and what they will be."""
        seen: set[int] = set()
        for module in self.modules():
            for p in module._parameters.values():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                if is_lazy(p):
                    _lazy_move(p, device, dtype)
                    continue
                new = fn(p.data)
                if new._data is not p._data or new._device is not p._device:
                    p.data = new
                if p.grad is not None:
                    g = fn(p.grad.data)
                    if g._data is not p.grad._data or g._device is not p.grad._device:
                        p.grad.data = g
            for name, b in module._buffers.items():
                if b is None or id(b) in seen:
                    continue
                seen.add(id(b))
                if is_lazy(b):
                    _lazy_move(b, device, dtype)
                    continue
                new = fn(b)
                if new is not b:
                    seen.add(id(new))
                    module._buffers[name] = new
        return self

    def to(self, *args, device=None, dtype=None, non_blocking: bool = False) -> Module:
        """Move and/or cast parameters and buffers in place: ``to(device)``, ``to(dtype)``,
        ``to(device, dtype)``, ``to(tensor)``. Only floating tensors change dtype.

        The parameters stay the same objects (an optimizer made before keeps working).
        """
        for a in args:
            if isinstance(a, Tensor):
                device, dtype = a.device, a.dtype
            elif isinstance(a, _dtype.dtype) or (isinstance(a, str) and a in _dtype._BY_NAME):
                dtype = a
            elif a is not None:
                device = a
        dev = None if device is None else _device_cls(device)
        dt = None
        if dtype is not None:
            dt = _dtype.to_dtype(dtype)
            if not dt.is_floating_point:
                raise TypeError(
                    "nn.Module.to only accepts floating point dtypes, but got desired "
                    f"dtype={dt}; cast integer tensors individually"
                )

        def convert(t: Tensor) -> Tensor:
            return t.to(
                device=dev,
                dtype=dt if dt is not None and t.is_floating_point() else None,
                non_blocking=non_blocking,
            )

        return self._apply(convert, dev, dt)

    def cuda(self, device=None) -> Module:
        """Move parameters and buffers to a CUDA device (``cuda:0`` or ``cuda:device``)."""
        if device is None:
            dev = _device_cls("cuda")
        elif isinstance(device, int):
            dev = _device_cls("cuda", device)
        else:
            dev = _device_cls(device)
        return self.to(dev)

    def cpu(self) -> Module:
        """Move parameters and buffers to the CPU."""
        return self.to("cpu")

    def float(self) -> Module:  # noqa: A003
        """Cast floating parameters and buffers to float32."""
        return self.to(_dtype.float32)

    def double(self) -> Module:
        """Cast floating parameters and buffers to float64."""
        return self.to(_dtype.float64)

    def half(self) -> Module:
        """Cast floating parameters and buffers to float16."""
        return self.to(_dtype.float16)

    # ----- printing -----------------------------------------------------------------------
    def _get_name(self) -> str:
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override it in layers)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({key}): " + _addindent(repr(module), 2) for key, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"


_CALL_CODE = Module.__call__.__code__


def _dtype_msg(key: str, src: Tensor, target: Tensor) -> str:
    return (
        f"dtype mismatch for {key}: copying a param of dtype {src.dtype} from checkpoint, the "
        f"dtype in current model is {target.dtype}."
    )


def _lazy_move(t, device, dtype) -> None:
    if device is not None:
        t._device = device
    if dtype is not None and t.is_floating_point():
        t._lazy_dtype = dtype

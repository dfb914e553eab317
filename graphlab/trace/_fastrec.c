/* The trace recorder's hot path in C: the op, backward and top-level observers for the common
 * case.
 *
 * graphlab/trace/_observers.py (on_op) and graphlab/trace/_backward.py (on_backward) are the
 * reference: this file does what they do, step for step, for an always-on or explicit pass at
 * level "meta" on NumPy arrays, and appends the same raw tuples. Anything else -- levels "stats"
 * and "values", CUDA arrays, a pass at its max_events, roots with shared modules (module-call
 * frames) -- is decided before anything is written and handed to the Python observer whole.
 * Rare branches inside the fast case call the Python helpers they would call there (a Leaf
 * missing from the cache, a constant operand, a deep module stack, attributes that are not
 * plain values), so each rule lives in one place. _accel.py configures this module with those
 * helpers and objects; tests/test_trace_accel.py checks that both paths record the same tuples.
 * recorder._on_top_level is the reference of the top-level observer, which opens the passes of
 * a training loop's steps (see its section below).
 *
 * Every function here runs with the GIL held and never releases it (except while waiting for
 * the ring's lock, as recorder._push would).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <float.h>
#include <string.h>
#include <math.h>
#include <structmember.h> /* PyMemberDef (Python.h has it from 3.12) */
#include <stdint.h>
#include <time.h>
/* NOTE: NumPy's headers only for the layout of ndarray and dtype objects (their inline field
 * readers: PyArray_NDIM, _DIMS, _DATA, _FLAGS, _DESCR, and a dtype's type_num and byteorder,
 * the same in NumPy 1.x and 2.x): no import_array(), no call into NumPy's C API. */
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
#include <numpy/ndarraytypes.h>

/* The interface version: bump it whenever what the Python code calls here changes (functions,
 * configure()'s and configure_passes()'s arguments) or the raw tuples do. */
#define FASTREC_API 6

/* ----- what configure() hands over (strong references, set once) ---------------------------- */

static struct {
    PyObject *tls;              /* _store.tls: .current is the pass open on this thread */
    PyTypeObject *tensor;       /* graphlab.Tensor */
    PyTypeObject *ndarray;      /* numpy.ndarray */
    PyTypeObject *leaf;         /* _values.Leaf */
    PyTypeObject *pass;         /* _store.Pass */
    PyObject *clock;            /* time.perf_counter */
    PyObject *py_on_op;         /* _observers.on_op: the reference, and the slow path */
    PyObject *py_on_backward;   /* _backward.on_backward */
    PyObject *leaf_of;          /* _values.leaf_of(p, t, gf) */
    PyObject *operand;          /* _values.operand(v) */
    PyObject *array_consts;     /* _values._array_consts */
    PyObject *plain;            /* _values.plain(v) */
    PyObject *scope_of;         /* _scopes.scope_of(stack) */
    PyObject *scope_cache;      /* _scopes._scope_cache */
    PyObject *top;              /* _scopes.TOP */
    PyObject *none_ref;         /* _observers._NONE: (None,) */
    PyObject *op_kind;          /* _store.OP */
    PyObject *backward_kind;    /* _store.BACKWARD */
    PyObject *op_name;          /* function.Op.name (a node class that keeps it is named later) */
    PyObject *uses_by_identity; /* _backward._uses_by_identity(params, node) */
    PyObject *norm;             /* _stats.norm(a) */
    PyObject *copy;             /* _stats.copy(a) */
    PyObject *broken;           /* _store.broken(p, exc) */
    int ready;
} R;

static PyObject *S_current, *S_dict, *S_ops_ok, *S_open, *S_raw, *S_max_events, *S_index, *S_vid_of,
    *S_params, *S_stack, *S_calls, *S_level, *S_timing, *S_last_t, *S_grad_fn, *S_trace,
    *S_version, *S_value, *S_data, *S_device, *S_requires_grad, *S_shape, *S_dtype, *S_param,
    *S_aliases, *S_reuse, *S_backward_seen, *S_auto, *S_name, *S_reused, *S_roots,
    *S_level_name, *S_thread, *S_tail, *S_enabled, *S_events_, *S_pass_, *S_meta_, *S_later_,
    *S_stamp, *S_table, *S_shared, *S_changes, *S_append, *S_popleft, *S_keep, *S_name_dunder,
    *S_cuda_marks, *S_pending, *S_trace_leaf;

/* ----- slots read in place -------------------------------------------------------------------
 *
 * The objects the observers read on every event -- the pass, tensors, graph nodes, version
 * counters, Leafs -- keep their hot attributes in __slots__. A slot is read straight from the
 * object's memory (its offset comes from the class's member descriptor), for objects of the
 * exact classes configure() was given (or, for graph nodes, any subclass of Op, which never
 * redefine _trace); anything else, or an unset slot, goes through getattr. NOTE: exact classes
 * only, because a subclass may shadow a slot (UninitializedParameter's _data is a property).
 */

typedef struct {
    PyTypeObject *types[2]; /* the exact classes read in place (NULL: none) */
    int subclasses;         /* also subclasses of types[0] */
    Py_ssize_t offset;
    PyObject **name;        /* the attribute's interned name, for getattr */
} Slot;

static Slot SL_p_ops_ok, SL_p_open, SL_p_raw, SL_p_max_events, SL_p_level, SL_p_calls, SL_p_index,
    SL_p_vid_of, SL_p_params, SL_p_stack, SL_p_timing, SL_p_last_t, SL_p_backward_seen,
    SL_p_auto, SL_p_reused, SL_t_grad_fn, SL_t_data, SL_t_version, SL_t_requires_grad,
    SL_t_device, SL_t_leaf, SL_op_trace, SL_version_value, SL_leaf_param,
    SL_leaf_aliases, SL_p_roots, SL_p_level_name, SL_p_thread, SL_p_tail, SL_o_enabled,
    SL_o_level, SL_o_timing, SL_o_max_events, SL_o_keep, SL_tr_events, SL_tr_pass, SL_tr_meta,
    SL_tr_later, SL_tb_stamp, SL_tb_table, SL_tb_shared;

#ifndef Py_T_OBJECT_EX
#define Py_T_OBJECT_EX 16
#endif

/* Set ``s`` up from the member descriptor ``name`` of ``cls`` (s stays a getattr if it is not
 * a writable object slot). */
static int slot_init(Slot *s, PyObject *cls, PyObject *also, int subclasses, PyObject **name) {
    s->types[0] = s->types[1] = NULL;
    s->name = name;
    PyObject *d = PyObject_GetAttr(cls, *name);
    if (d == NULL) return -1;
    if (Py_IS_TYPE(d, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
        if (m->type == Py_T_OBJECT_EX && !(m->flags & 1 /* READONLY */)) {
            s->types[0] = (PyTypeObject *)cls;
            s->types[1] = (PyTypeObject *)also;
            s->subclasses = subclasses;
            s->offset = m->offset;
        }
    }
    Py_DECREF(d);
    return 0;
}

static inline PyObject **slot_addr(PyObject *o, const Slot *s) {
    PyTypeObject *t = Py_TYPE(o);
    if (s->types[0] != NULL &&
        (t == s->types[0] || t == s->types[1] || (s->subclasses && PyType_IsSubtype(t, s->types[0]))))
        return (PyObject **)((char *)o + s->offset);
    return NULL;
}

/* o.<slot> (a new reference; NULL with an exception on error) */
static inline PyObject *sget(PyObject *o, const Slot *s) {
    PyObject **addr = slot_addr(o, s);
    if (addr != NULL && *addr != NULL) return Py_NewRef(*addr);
    return PyObject_GetAttr(o, *s->name);
}

/* o.<slot> = v */
static inline int sset(PyObject *o, const Slot *s, PyObject *v) {
    PyObject **addr = slot_addr(o, s);
    if (addr != NULL) {
        Py_XSETREF(*addr, Py_NewRef(v));
        return 0;
    }
    return PyObject_SetAttr(o, *s->name, v);
}

/* bool(o.<slot>): 1, 0, or -1 on error */
static int strue(PyObject *o, const Slot *s) {
    PyObject **addr = slot_addr(o, s);
    if (addr != NULL && *addr != NULL) {
        if (*addr == Py_True) return 1;
        if (*addr == Py_False || *addr == Py_None) return 0;
        return PyObject_IsTrue(*addr);
    }
    PyObject *v = PyObject_GetAttr(o, *s->name);
    if (v == NULL) return -1;
    int r = PyObject_IsTrue(v);
    Py_DECREF(v);
    return r;
}

/* ----- small helpers (each returns a new reference, or NULL with an exception set) ---------- */

/* getattr(o, name, None), without making an AttributeError to throw away */
static PyObject *get_optional(PyObject *o, PyObject *name) {
    PyObject *v = NULL;
    if (o == Py_None) Py_RETURN_NONE;
#if PY_VERSION_HEX >= 0x030D0000
    int found = PyObject_GetOptionalAttr(o, name, &v);
#else
    int found = _PyObject_LookupAttr(o, name, &v);
#endif
    if (found < 0) return NULL;
    if (found == 0) Py_RETURN_NONE;
    return v;
}

/* getattr(o, <slot>, None) */
static PyObject *optional_slot(PyObject *o, const Slot *s) {
    PyObject **addr = slot_addr(o, s);
    if (addr != NULL && *addr != NULL) return Py_NewRef(*addr);
    return get_optional(o, *s->name);
}

/* The object a weak reference points at (a new reference; None once it died). */
static PyObject *deref(PyObject *ref) {
    if (!PyWeakref_Check(ref)) Py_RETURN_NONE;
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *obj;
    if (PyWeakref_GetRef(ref, &obj) < 0) return NULL;
    return obj != NULL ? obj : Py_NewRef(Py_None);
#else
    return Py_NewRef(PyWeakref_GET_OBJECT(ref)); /* NOTE: None once the object died */
#endif
}

/* time.perf_counter() as a double; -1.0 with an exception set on error. NOTE: on Linux
 * perf_counter is CLOCK_MONOTONIC in nanoseconds, divided by 1e9: read here without a call
 * into Python or a float object per reading (the Python observers' readings, and Pass's
 * last_t, come from the same clock). */
static double now(void) {
#if defined(__linux__) && defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
        return (double)((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec) / 1e9;
#endif
    PyObject *t = PyObject_CallNoArgs(R.clock);
    if (t == NULL) return -1.0;
    double d = PyFloat_AsDouble(t);
    Py_DECREF(t);
    return d;
}

/* now - p.last_t if p.timing else None */
static PyObject *seconds_since_last(PyObject *p, double t) {
    int timing = strue(p, &SL_p_timing);
    if (timing < 0) return NULL;
    if (!timing) Py_RETURN_NONE;
    PyObject *last = sget(p, &SL_p_last_t);
    if (last == NULL) return NULL;
    double l = PyFloat_AsDouble(last);
    Py_DECREF(last);
    if (l == -1.0 && PyErr_Occurred()) return NULL;
    return PyFloat_FromDouble(t - l);
}

/* p.last_t = perf_counter() */
static int stamp(PyObject *p) {
    double d = now();
    PyObject *t = d == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(d);
    if (t == NULL) return -1;
    int r = sset(p, &SL_p_last_t, t);
    Py_DECREF(t);
    return r;
}

/* t._version.value */
static PyObject *version_of(PyObject *t) {
    PyObject *v = sget(t, &SL_t_version);
    if (v == NULL) return NULL;
    PyObject *value = sget(v, &SL_version_value);
    Py_DECREF(v);
    return value;
}

static int is_plain(PyObject *v) {
    PyTypeObject *t = Py_TYPE(v);
    return t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || t == &PyUnicode_Type ||
           t == &PyComplex_Type || v == Py_None;
}

/* Whether _values.plain(v) == v with the same types throughout: a plain value, or a tuple of
 * such (nested at most ``depth`` deep), as op attributes like strides and paddings are. */
static int is_plain_deep(PyObject *v, int depth) {
    if (is_plain(v)) return 1;
    if (!PyTuple_CheckExact(v) || depth == 0) return 0;
    for (Py_ssize_t i = 0, n = PyTuple_GET_SIZE(v); i < n; i++)
        if (!is_plain_deep(PyTuple_GET_ITEM(v, i), depth - 1)) return 0;
    return 1;
}

/* The recorder must never break the user's code: hand the exception to _store.broken(p, exc),
 * which stops recording this pass and warns once. Returns -1 only if that call itself raised
 * (a warning turned into an error), as the Python observer would let it. */
static int report_broken(PyObject *p) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) PyException_SetTraceback(value, tb);
    PyObject *r = PyObject_CallFunctionObjArgs(R.broken, p, value ? value : Py_None, NULL);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

/* ----- statistics ------------------------------------------------------------------------------
 *
 * One pass over an array for _stats.summary: min, max, sum and sum of squares, where NumPy
 * makes four (two reductions, two dot products). The lanes are independent, so the compiler
 * keeps them in vector registers; on x86-64 Linux, GCC and Clang also build an AVX2 copy that
 * the loader picks on CPUs that have it. float32 sums run in float32 lanes over blocks of 1,024
 * values, then in double precision; float64 sums in double precision.
 */

#define LANES 16
#define BLOCK 1024
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && defined(__linux__)
#define MULTIVERSION __attribute__((target_clones("avx2", "default")))
#else
#define MULTIVERSION
#endif

MULTIVERSION
static void moments_f32(const float *x, Py_ssize_t n, double *lo, double *hi, double *sum,
                        double *sq) {
    float l[LANES], h[LANES];
    double S = 0, Q = 0;
    for (int k = 0; k < LANES; k++) l[k] = h[k] = x[0];
    Py_ssize_t i = 0;
    while (i + LANES <= n) {
        float s[LANES] = {0}, q[LANES] = {0};
        Py_ssize_t end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + LANES <= end; i += LANES) {
            for (int k = 0; k < LANES; k++) {
                float v = x[i + k];
                l[k] = v < l[k] ? v : l[k];
                h[k] = v > h[k] ? v : h[k];
                s[k] += v;
                q[k] += v * v;
            }
        }
        for (int k = 0; k < LANES; k++) {
            S += s[k];
            Q += q[k];
        }
    }
    double L = l[0], H = h[0];
    for (int k = 0; k < LANES; k++) {
        if (l[k] < L) L = l[k];
        if (h[k] > H) H = h[k];
    }
    for (; i < n; i++) {
        float v = x[i];
        if (v < L) L = v;
        if (v > H) H = v;
        S += v;
        Q += (double)v * v;
    }
    *lo = L, *hi = H, *sum = S, *sq = Q;
}

MULTIVERSION
static void moments_f64(const double *x, Py_ssize_t n, double *lo, double *hi, double *sum,
                        double *sq) {
    double l[LANES], h[LANES], s[LANES] = {0}, q[LANES] = {0};
    for (int k = 0; k < LANES; k++) l[k] = h[k] = x[0];
    Py_ssize_t i = 0;
    for (; i + LANES <= n; i += LANES) {
        for (int k = 0; k < LANES; k++) {
            double v = x[i + k];
            l[k] = v < l[k] ? v : l[k];
            h[k] = v > h[k] ? v : h[k];
            s[k] += v;
            q[k] += v * v;
        }
    }
    double L = l[0], H = h[0], S = 0, Q = 0;
    for (int k = 0; k < LANES; k++) {
        if (l[k] < L) L = l[k];
        if (h[k] > H) H = h[k];
        S += s[k];
        Q += q[k];
    }
    for (; i < n; i++) {
        double v = x[i];
        if (v < L) L = v;
        if (v > H) H = v;
        S += v;
        Q += v * v;
    }
    *lo = L, *hi = H, *sum = S, *sq = Q;
}

/* min, max, sum and sum of squares of a C-contiguous float32 or float64 NumPy array of at
 * least one element, all finite, into m[0..3]: 1 when done; 0 for anything else (NaN or Inf
 * inside, sums past what the dtype holds, another dtype or layout, no elements), where NumPy's
 * code must take it. */
/* The sum of squares of x[0..n) as moments_f32 sums them (the same lanes, blocks and order),
 * for a gradient's norm, which needs nothing else. NOTE: written with vector types: GCC
 * vectorizes the plain loop the wrong way round (across blocks, with shuffles). */
#if defined(__GNUC__)
typedef float f32x8 __attribute__((vector_size(32)));

MULTIVERSION
static double squares_f32(const float *x, Py_ssize_t n) {
    double Q = 0;
    Py_ssize_t i = 0;
    while (i + LANES <= n) {
        f32x8 a = {0}, b = {0}, u, v;
        Py_ssize_t end = i + BLOCK < n ? i + BLOCK : n;
        for (; i + LANES <= end; i += LANES) {
            memcpy(&u, x + i, sizeof u); /* NOTE: unaligned loads */
            memcpy(&v, x + i + 8, sizeof v);
            a += u * u;
            b += v * v;
        }
        for (int k = 0; k < 8; k++) Q += a[k];
        for (int k = 0; k < 8; k++) Q += b[k];
    }
    for (; i < n; i++) Q += (double)x[i] * x[i];
    return Q;
}
#else
static double squares_f32(const float *x, Py_ssize_t n) {
    double m[4];
    moments_f32(x, n, &m[0], &m[1], &m[2], &m[3]);
    return m[3];
}
#endif

/* The dtype number (NPY_FLOAT or NPY_DOUBLE) and size of a NumPy array the kernels read: an
 * exact ndarray, C-contiguous, aligned, in native byte order, with at least one element; 0
 * for anything else. */
static int float_array(PyObject *a, Py_ssize_t *n) {
    if (R.ndarray == NULL || Py_TYPE(a) != R.ndarray) return 0;
    PyArrayObject *arr = (PyArrayObject *)a;
    const int layout = NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED;
    if ((PyArray_FLAGS(arr) & layout) != layout || !PyArray_ISNOTSWAPPED(arr)) return 0;
    int type = PyArray_DESCR(arr)->type_num;
    if (type != NPY_FLOAT && type != NPY_DOUBLE) return 0;
    *n = 1;
    for (int i = 0, nd = PyArray_NDIM(arr); i < nd; i++) *n *= PyArray_DIMS(arr)[i];
    return *n >= 1 ? type : 0;
}

static int moments_of(PyObject *a, double m[4]) {
    Py_ssize_t n;
    int type = float_array(a, &n), done = 0;
    if (type == NPY_FLOAT) {
        moments_f32((const float *)PyArray_DATA((PyArrayObject *)a), n, &m[0], &m[1], &m[2],
                    &m[3]);
        /* NOTE: NumPy's float32 sums overflow past FLT_MAX: its code says so (as Inf) */
        done = m[3] <= FLT_MAX && fabs(m[2]) <= FLT_MAX;
    } else if (type == NPY_DOUBLE) {
        moments_f64((const double *)PyArray_DATA((PyArrayObject *)a), n, &m[0], &m[1], &m[2],
                    &m[3]);
        done = 1;
    }
    /* NOTE: a NaN never wins a comparison, so it shows only in the sums; an Inf is the min or
     * the max, or makes a sum Inf or NaN */
    return done && isfinite(m[0]) && isfinite(m[1]) && isfinite(m[2]) && isfinite(m[3]);
}

/* The squared norm of a float32 array in *sq, the same value as moments_of's m[3]: 1 when done;
 * 0 where moments_of would say 0 (a NaN or Inf inside makes the sum of squares NaN or Inf, and
 * values whose squares pass FLT_MAX are the only ones whose sums can), or for another array. */
static int squares_of(PyObject *a, double *sq) {
    Py_ssize_t n;
    double m[4];
    switch (float_array(a, &n)) {
    case NPY_FLOAT:
        *sq = squares_f32((const float *)PyArray_DATA((PyArrayObject *)a), n);
        return isfinite(*sq) && *sq <= FLT_MAX;
    case NPY_DOUBLE:
        if (!moments_of(a, m)) return 0;
        *sq = m[3];
        return 1;
    default:
        return 0;
    }
}

/* moments(a) -> (min, max, sum, sum of squares), or None (see moments_of) */
static PyObject *fast_moments(PyObject *Py_UNUSED(self), PyObject *a) {
    double m[4];
    if (!moments_of(a, m)) Py_RETURN_NONE;
    return Py_BuildValue("(dddd)", m[0], m[1], m[2], m[3]);
}

/* ----- shared copies ---------------------------------------------------------------------------
 *
 * A training loop records the same shapes and the same inputs every step. Equal shapes, tuples
 * of shapes and input lists are kept once (the first copy seen) and shared by every event that
 * holds them, so that a pass holds fewer objects: fewer to allocate while recording, and fewer
 * to free when the ring drops the pass. NOTE: (True,) == (1,) and (0.0,) == (-0.0,): input
 * tuples are shared only when they hold ints, None and Leafs (by identity), op attributes only
 * with a copy of the same types and bits (share_plain).
 */

/* A 64-bit finalizer (MurmurHash3's): the direct-mapped caches below index by its low bits,
 * which it makes depend on every bit of the key (addresses differ in middle bits only). */
static inline uint64_t mix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static PyObject *shared; /* dict: tuple -> the same tuple */
#define SHARED_MAX 8192

/* The shared copy of tuple ``t`` (steals the reference; NULL in, NULL out). */
static PyObject *share(PyObject *t) {
    if (t == NULL) return NULL;
    PyObject *c = PyDict_GetItemWithError(shared, t); /* borrowed */
    if (c != NULL) {
        Py_INCREF(c);
        Py_DECREF(t);
        return c;
    }
    if (PyErr_Occurred()) {
        PyErr_Clear(); /* NOTE: unhashable: kept as it is */
        return t;
    }
    if (PyDict_GET_SIZE(shared) >= SHARED_MAX) PyDict_Clear(shared); /* rebuilt on demand */
    if (PyDict_SetItem(shared, t, t) < 0) PyErr_Clear();
    return t;
}

/* Shared tuples by the identities of their items, in front of ``shared``: an event's tuple of
 * input refs (Leafs, small ints, None) and a backward step's tuple of gradient shapes (shared
 * shape tuples) hold the very objects of the last step's, so a hit needs no hash and no
 * comparison of the items. A slot holds a shared tuple, which keeps its items alive: their
 * addresses cannot be reused while it is cached. */
#define BY_ITEMS 512 /* a power of two */
#define BY_ITEMS_N 6
static struct {
    Py_ssize_t n;
    PyObject *tuple;
} by_items[BY_ITEMS];

static size_t items_slot(PyObject *t) {
    uint64_t h = (uint64_t)PyTuple_GET_SIZE(t);
    for (Py_ssize_t i = 0, n = PyTuple_GET_SIZE(t); i < n; i++)
        h = mix64(h ^ (uint64_t)(uintptr_t)PyTuple_GET_ITEM(t, i));
    return (size_t)h & (BY_ITEMS - 1);
}

/* share(t) through ``by_items`` for a tuple of at most BY_ITEMS_N items (steals ``t``); with
 * ``in_dict`` 0, through ``by_items`` alone (``shared`` would keep it until it is cleared) */
static PyObject *share_items_in(PyObject *t, int in_dict) {
    if (t == NULL || PyTuple_GET_SIZE(t) > BY_ITEMS_N) return in_dict ? share(t) : t;
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    size_t at = items_slot(t);
    PyObject *c = by_items[at].tuple;
    if (c != NULL && by_items[at].n == n) {
        Py_ssize_t i = 0;
        while (i < n && PyTuple_GET_ITEM(c, i) == PyTuple_GET_ITEM(t, i)) i++;
        if (i == n) {
            Py_DECREF(t);
            return Py_NewRef(c);
        }
    }
    PyObject *s = in_dict ? share(t) : t;
    if (s != NULL && PyTuple_CheckExact(s) && PyTuple_GET_SIZE(s) == n) {
        at = items_slot(s); /* NOTE: keyed by the shared tuple's own items */
        by_items[at].n = n;
        Py_XSETREF(by_items[at].tuple, Py_NewRef(s));
    }
    return s;
}

static PyObject *share_items(PyObject *t) { return share_items_in(t, 1); }

/* Whether two equal values are also the same types throughout and the same floats bit for
 * bit: True == 1 and -0.0 == 0.0, but a shared copy must not turn one into the other. */
static int same_kinds(PyObject *a, PyObject *b) {
    if (Py_TYPE(a) != Py_TYPE(b)) return 0;
    if (PyFloat_CheckExact(a)) {
        double x = PyFloat_AS_DOUBLE(a), y = PyFloat_AS_DOUBLE(b);
        return memcmp(&x, &y, sizeof x) == 0;
    }
    if (PyComplex_CheckExact(a)) {
        Py_complex x = PyComplex_AsCComplex(a), y = PyComplex_AsCComplex(b);
        return memcmp(&x, &y, sizeof x) == 0;
    }
    if (PyTuple_CheckExact(a)) {
        Py_ssize_t n = PyTuple_GET_SIZE(a);
        if (n != PyTuple_GET_SIZE(b)) return 0;
        for (Py_ssize_t i = 0; i < n; i++)
            if (!same_kinds(PyTuple_GET_ITEM(a, i), PyTuple_GET_ITEM(b, i))) return 0;
    }
    return 1;
}

/* The shared copy of tuple ``t`` of plain values (steals the reference): one equal to it and of
 * the same kinds throughout (see same_kinds), else ``t`` itself. */
static PyObject *share_plain(PyObject *t) {
    if (t == NULL) return NULL;
    PyObject *c = PyDict_GetItemWithError(shared, t); /* borrowed */
    if (c != NULL) {
        if (!same_kinds(c, t)) return t; /* NOTE: an equal look-alike is shared already */
        Py_INCREF(c);
        Py_DECREF(t);
        return c;
    }
    return share(t);
}

/* How a tuple of input refs may be shared: 0 not at all (it holds items other than ints, None
 * and Leafs, which ``share`` may not merge); 1 through ``by_items`` alone (it holds the Leaf of a
 * tensor that is no parameter: an input, which a training loop makes anew every step, and whose
 * Leaf ``shared`` would keep long after the tensor is gone); 2 also through ``shared``. */
static int shareable_refs(PyObject *t) {
    int how = 2;
    for (Py_ssize_t i = 0, n = PyTuple_GET_SIZE(t); i < n; i++) {
        PyObject *v = PyTuple_GET_ITEM(t, i);
        if (Py_TYPE(v) == R.leaf) {
            PyObject **param = slot_addr(v, &SL_leaf_param);
            if (param == NULL || *param == NULL || *param == Py_None) how = 1;
        } else if (!PyLong_CheckExact(v) && v != Py_None) {
            return 0;
        }
    }
    return how;
}

/* a.shape, shared */
static PyObject *shape_by_getattr(PyObject *a) {
    PyObject *shape = PyObject_GetAttr(a, S_shape);
    if (shape == NULL || !PyTuple_CheckExact(shape)) return shape;
    return share(shape);
}

/* The shared shapes of NumPy arrays by their dimensions, so that an event does not make a
 * shape tuple, hash it and look it up in ``shared`` (a direct-mapped cache: a slot holds the
 * last shape that hashed there). */
#define SHAPES 512 /* a power of two */
#define SHAPE_NDIM 6
static struct {
    int nd;
    npy_intp dims[SHAPE_NDIM];
    PyObject *tuple;
} shapes[SHAPES];

/* a.shape of a NumPy array (an exact ndarray), shared */
static PyObject *shape_of(PyObject *a) {
    if (Py_TYPE(a) != R.ndarray || PyArray_NDIM((PyArrayObject *)a) > SHAPE_NDIM)
        return shape_by_getattr(a);
    int nd = PyArray_NDIM((PyArrayObject *)a);
    const npy_intp *dims = PyArray_DIMS((PyArrayObject *)a);
    uint64_t h = (uint64_t)nd;
    for (int i = 0; i < nd; i++) h = mix64(h ^ (uint64_t)dims[i]);
    size_t at = (size_t)h & (SHAPES - 1);
    if (shapes[at].tuple != NULL && shapes[at].nd == nd &&
        memcmp(shapes[at].dims, dims, (size_t)nd * sizeof(npy_intp)) == 0)
        return Py_NewRef(shapes[at].tuple);
    PyObject *shape = shape_by_getattr(a);
    if (shape == NULL || !PyTuple_CheckExact(shape)) return shape;
    shapes[at].nd = nd;
    if (nd > 0) memcpy(shapes[at].dims, dims, (size_t)nd * sizeof(npy_intp));
    Py_XSETREF(shapes[at].tuple, Py_NewRef(shape));
    return shape;
}

/* a.dtype of a NumPy array (an exact ndarray: the dtype object it holds) */
static PyObject *dtype_of(PyObject *a) {
    if (Py_TYPE(a) != R.ndarray) return PyObject_GetAttr(a, S_dtype);
    return Py_NewRef((PyObject *)PyArray_DESCR((PyArrayObject *)a));
}

/* Recent ArrayConsts by the identities of their dtype and (shared) shape, in front of
 * _values._array_consts, whose key (a new tuple) costs an allocation and a hash per op. */
#define CONSTS 64 /* a power of two */
static struct {
    PyObject *dtype, *shape, *c; /* strong: the key's addresses cannot be reused */
} consts[CONSTS];

/* The ArrayConst _values.operand made before for a NumPy array of this dtype and shape
 * (_values._array_consts), or NULL (no error) when there is none: operand() decides. */
static PyObject *known_array_const(PyObject *a) {
    if (PyDict_GET_SIZE(R.array_consts) == 0) return NULL;
    PyObject *dtype = dtype_of(a);
    PyObject *shape = dtype ? shape_of(a) : NULL; /* NOTE: shared, so equal shapes are one */
    if (shape == NULL) {
        Py_XDECREF(dtype);
        return NULL;
    }
    size_t at = (size_t)(mix64((uint64_t)(uintptr_t)dtype ^ mix64((uint64_t)(uintptr_t)shape)) &
                         (CONSTS - 1));
    PyObject *c = NULL;
    if (consts[at].dtype == dtype && consts[at].shape == shape) {
        c = Py_NewRef(consts[at].c);
    } else {
        PyObject *key = PyTuple_Pack(2, dtype, shape);
        c = key ? Py_XNewRef(PyDict_GetItemWithError(R.array_consts, key)) : NULL;
        Py_XDECREF(key);
        if (c != NULL) {
            Py_XSETREF(consts[at].dtype, Py_NewRef(dtype));
            Py_XSETREF(consts[at].shape, Py_NewRef(shape));
            Py_XSETREF(consts[at].c, Py_NewRef(c));
        }
    }
    Py_DECREF(dtype);
    Py_DECREF(shape);
    return c;
}

/* ----- leaf entries ---------------------------------------------------------------------------
 *
 * _values.LeafEntry in C (graphlab.trace._accel puts this type in its place): what the recorder
 * remembers of a tensor it described as a Leaf, in the tensor's own _trace_leaf slot. Its ids
 * are C fields, so the op observer checks a hit without an int object, a dict or a weakref
 * (see leaf_for). Python code (_values.leaf_of) makes the entries and reads and writes the same
 * fields. NOTE: not tracked by the GC: it refers to a parameter table (weakrefs, names) and a
 * Leaf (metadata), neither of which can refer back to a tensor. */

typedef struct {
    PyObject_HEAD
    Py_ssize_t owner, gf, data; /* id(tensor), id(grad_fn), id(tensor._data): compared only */
    PyObject *params;           /* the pass's parameter table the Leaf was named from */
    PyObject *leaf;             /* the Leaf */
    PyObject *rg;               /* leaf.requires_grad */
    PyObject *use;              /* the last parameter use noted (see param_use), False for a
                                   tensor that is no parameter, None when not known yet */
    Py_ssize_t last;            /* the last pass that read it */
    long long version;          /* the tensor's version then */
} LeafEntry;

static PyObject *leaf_entry_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"owner", "gf", "data", "params", "leaf", "rg", "last", "version", NULL};
    Py_ssize_t owner, gf, data, last;
    long long version;
    PyObject *params, *leaf, *rg;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "nnnOOOnL", names, &owner, &gf, &data, &params,
                                     &leaf, &rg, &last, &version))
        return NULL;
    LeafEntry *e = (LeafEntry *)type->tp_alloc(type, 0);
    if (e == NULL) return NULL;
    e->owner = owner, e->gf = gf, e->data = data, e->last = last, e->version = version;
    e->params = Py_NewRef(params);
    e->leaf = Py_NewRef(leaf);
    e->rg = Py_NewRef(rg);
    e->use = Py_NewRef(Py_None);
    return (PyObject *)e;
}

static void leaf_entry_dealloc(PyObject *o) {
    LeafEntry *e = (LeafEntry *)o;
    Py_XDECREF(e->params);
    Py_XDECREF(e->leaf);
    Py_XDECREF(e->rg);
    Py_XDECREF(e->use);
    Py_TYPE(o)->tp_free(o);
}

static PyMemberDef leaf_entry_members[] = {
    {"owner", T_PYSSIZET, offsetof(LeafEntry, owner), 0, NULL},
    {"gf", T_PYSSIZET, offsetof(LeafEntry, gf), 0, NULL},
    {"data", T_PYSSIZET, offsetof(LeafEntry, data), 0, NULL},
    {"params", T_OBJECT_EX, offsetof(LeafEntry, params), 0, NULL},
    {"leaf", T_OBJECT_EX, offsetof(LeafEntry, leaf), 0, NULL},
    {"rg", T_OBJECT_EX, offsetof(LeafEntry, rg), 0, NULL},
    {"use", T_OBJECT_EX, offsetof(LeafEntry, use), 0, NULL},
    {"last", T_PYSSIZET, offsetof(LeafEntry, last), 0, NULL},
    {"version", T_LONGLONG, offsetof(LeafEntry, version), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject LeafEntryType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "graphlab.trace._fastrec.LeafEntry",
    .tp_basicsize = sizeof(LeafEntry),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "LeafEntry(owner, gf, data, params, leaf, rg, last, version): what the trace "
              "recorder remembers of a tensor it described as a Leaf (see _values.LeafEntry).",
    .tp_new = leaf_entry_new,
    .tp_dealloc = leaf_entry_dealloc,
    .tp_members = leaf_entry_members,
};

/* ----- the op observer ------------------------------------------------------------------------ */

/* t._trace_leaf when it is a LeafEntry (borrowed), else NULL */
static LeafEntry *entry_of(PyObject *t) {
    PyObject **addr = slot_addr(t, &SL_t_leaf);
    PyObject *e = addr != NULL ? *addr : NULL;
    return e != NULL && Py_IS_TYPE(e, &LeafEntryType) ? (LeafEntry *)e : NULL;
}

/* The Leaf of tensor t in pass p (index ``index``) from its entry when the entry still holds
 * (the hit branch of _values.leaf_of, step for step); otherwise leaf_of itself. */
static PyObject *leaf_for(PyObject *p, PyObject *t, PyObject *gf, PyObject *params,
                          Py_ssize_t index) {
    LeafEntry *e = entry_of(t);
    PyObject **data = slot_addr(t, &SL_t_data), **rg = slot_addr(t, &SL_t_requires_grad);
    if (e == NULL || data == NULL || rg == NULL || e->owner != (Py_ssize_t)t ||
        e->gf != (Py_ssize_t)gf || e->data != (Py_ssize_t)*data || e->params != params ||
        e->rg != *rg)
        return PyObject_CallFunctionObjArgs(R.leaf_of, p, t, gf, NULL);
    PyObject *v = version_of(t);
    long long version = v != NULL ? PyLong_AsLongLong(v) : -1;
    Py_XDECREF(v);
    if (version == -1 && PyErr_Occurred()) return NULL;
    if (e->last != index) { /* first read in this pass */
        e->last = index;
        e->version = version;
        return Py_NewRef(e->leaf);
    }
    if (e->version != version) /* written in place since it was read: a new Leaf */
        return PyObject_CallFunctionObjArgs(R.leaf_of, p, t, gf, NULL);
    PyObject *leaf = Py_NewRef(e->leaf); /* NOTE: p.reuse() below may run Python code */
    if (e->use != Py_False) {
        PyObject *param = sget(leaf, &SL_leaf_param);
        if (param == NULL) {
            Py_DECREF(leaf);
            return NULL;
        }
        if (param != Py_None) { /* a parameter read again (tied, or a loop) */
            PyObject *k = PyLong_FromVoidPtr(t);
            PyObject *r = k ? PyObject_CallMethodOneArg(p, S_reuse, k) : NULL;
            Py_XDECREF(k);
            if (r == NULL) Py_CLEAR(leaf);
            Py_XDECREF(r);
        }
        Py_DECREF(param);
    }
    return leaf;
}

/* Whether weak reference ``ref`` points at ``obj`` (alive) */
static int refers_to(PyObject *ref, PyObject *obj) {
    if (!PyWeakref_Check(ref)) return 0;
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *o;
    if (PyWeakref_GetRef(ref, &o) < 0) {
        PyErr_Clear();
        return 0;
    }
    Py_XDECREF(o); /* NOTE: only compared; obj itself is alive */
    return o == obj;
#else
    return PyWeakref_GET_OBJECT(ref) == obj;
#endif
}

/* The scopes of recent module stacks by the modules' addresses, in front of _scopes._scope_cache
 * (whose key, ids as ints or a tuple of them, costs allocations and a hash per op): a slot keeps
 * an entry of that cache, (weakrefs of the stack's modules, scope), and a hit is checked
 * against the live stack through the weakrefs, as scope_of checks its own hits. */
#define SCOPES 256 /* a power of two */
#define SCOPE_DEPTH 8
static struct {
    Py_ssize_t n;
    PyObject *modules[SCOPE_DEPTH]; /* addresses only: compared, never dereferenced */
    PyObject *entry;                /* (weakrefs, scope) */
} scopes[SCOPES];

/* The scope of a non-empty module stack: from ``scopes``, else from _scopes._scope_cache (keyed
 * as scope_of keys it: the module's id for one module, the tuple of ids for more) checked
 * against the live stack, else scope_of itself. */
static PyObject *scope_for(PyObject *stack) {
    Py_ssize_t n = PyList_GET_SIZE(stack);
    size_t at = 0;
    if (n <= SCOPE_DEPTH) {
        uint64_t h = (uint64_t)n;
        for (Py_ssize_t i = 0; i < n; i++) h = mix64(h ^ (uint64_t)(uintptr_t)PyList_GET_ITEM(stack, i));
        at = (size_t)h & (SCOPES - 1);
        if (scopes[at].entry != NULL && scopes[at].n == n) {
            PyObject *refs = PyTuple_GET_ITEM(scopes[at].entry, 0);
            int hit = 1;
            for (Py_ssize_t i = 0; i < n && hit; i++)
                hit = scopes[at].modules[i] == PyList_GET_ITEM(stack, i) &&
                      refers_to(PyTuple_GET_ITEM(refs, i), PyList_GET_ITEM(stack, i));
            if (hit) return Py_NewRef(PyTuple_GET_ITEM(scopes[at].entry, 1));
        }
    }
    PyObject *key;
    if (n == 1) {
        key = PyLong_FromVoidPtr(PyList_GET_ITEM(stack, 0));
    } else {
        key = PyTuple_New(n);
        for (Py_ssize_t i = 0; key != NULL && i < n; i++) {
            PyObject *k = PyLong_FromVoidPtr(PyList_GET_ITEM(stack, i));
            if (k == NULL) Py_CLEAR(key);
            else PyTuple_SET_ITEM(key, i, k);
        }
    }
    if (key == NULL) return NULL;
    PyObject *e = PyDict_GetItemWithError(R.scope_cache, key); /* borrowed */
    Py_DECREF(key);
    if (e == NULL && PyErr_Occurred()) return NULL;
    if (e != NULL && PyTuple_CheckExact(e) && PyTuple_GET_SIZE(e) == 2 &&
        PyTuple_CheckExact(PyTuple_GET_ITEM(e, 0)) && PyTuple_GET_SIZE(PyTuple_GET_ITEM(e, 0)) == n) {
        PyObject *refs = PyTuple_GET_ITEM(e, 0);
        int hit = 1;
        for (Py_ssize_t i = 0; i < n && hit; i++)
            hit = refers_to(PyTuple_GET_ITEM(refs, i), PyList_GET_ITEM(stack, i));
        if (hit) {
            if (n <= SCOPE_DEPTH) {
                scopes[at].n = n;
                for (Py_ssize_t i = 0; i < n; i++) scopes[at].modules[i] = PyList_GET_ITEM(stack, i);
                Py_XSETREF(scopes[at].entry, Py_NewRef(e));
            }
            return Py_NewRef(PyTuple_GET_ITEM(e, 1));
        }
    }
    return PyObject_CallOneArg(R.scope_of, stack);
}

/* Append to *uses (made when first needed) the use of parameter ``t`` (Leaf ``leaf``) as input
 * ``position`` of an op: (position, id(t), name, aliases), as _observers._note_use makes it.
 * Nothing for a tensor that is no parameter. The use is kept in the tensor's entry: a training
 * loop reads each parameter at the same position every step, and gets the same tuple. */
static int param_use(PyObject *t, PyObject *leaf, Py_ssize_t position, PyObject **uses) {
    LeafEntry *e = entry_of(t);
    if (e != NULL && e->leaf != leaf) e = NULL; /* NOTE: another Leaf: the entry is not its */
    if (e != NULL && e->use == Py_False) return 0;
    PyObject *use = NULL;
    if (e != NULL && PyTuple_CheckExact(e->use) &&
        PyLong_AsSsize_t(PyTuple_GET_ITEM(e->use, 0)) == position) {
        use = Py_NewRef(e->use);
    } else {
        if (PyErr_Occurred()) return -1;
        PyObject *param = sget(leaf, &SL_leaf_param);
        if (param == NULL) return -1;
        if (param == Py_None) {
            Py_DECREF(param);
            if (e != NULL) Py_SETREF(e->use, Py_NewRef(Py_False));
            return 0;
        }
        PyObject *aliases = sget(leaf, &SL_leaf_aliases);
        PyObject *at = aliases ? PyLong_FromSsize_t(position) : NULL;
        PyObject *key = at ? PyLong_FromVoidPtr(t) : NULL;
        use = key ? PyTuple_Pack(4, at, key, param, aliases) : NULL;
        Py_DECREF(param);
        Py_XDECREF(aliases);
        Py_XDECREF(at);
        Py_XDECREF(key);
        if (use == NULL) return -1;
        if (e != NULL) Py_SETREF(e->use, Py_NewRef(use));
    }
    if (*uses == NULL) *uses = PyList_New(0);
    int rc = *uses == NULL ? -1 : PyList_Append(*uses, use);
    Py_DECREF(use);
    return rc;
}

/* The ref of one tensor argument (see _observers.on_op) in pass p, whose index is ``index``
 * (``index_n`` as a C integer); *uses gets (position, id, name, aliases) for a parameter of the
 * pass's roots. */
static PyObject *tensor_ref(PyObject *p, PyObject *a, PyObject *index, Py_ssize_t index_n,
                            PyObject *vid_of, PyObject *params, Py_ssize_t position,
                            PyObject **uses) {
    PyObject *gf = sget(a, &SL_t_grad_fn);
    if (gf == NULL) return NULL;
    PyObject *ref = NULL;
    if (gf != Py_None) { /* the output of an op of this pass, found through its node */
        PyObject *r = optional_slot(gf, &SL_op_trace);
        if (r == NULL) goto out;
        if (PyTuple_CheckExact(r) && PyTuple_GET_SIZE(r) >= 2) {
            int same = PyObject_RichCompareBool(PyTuple_GET_ITEM(r, 0), index, Py_EQ);
            if (same < 0) {
                Py_DECREF(r);
                goto out;
            }
            if (same) {
                ref = PyTuple_GET_ITEM(r, 1);
                Py_INCREF(ref);
                Py_DECREF(r);
                goto out;
            }
        }
        Py_DECREF(r);
    }
    if (PyDict_CheckExact(vid_of) && PyDict_GET_SIZE(vid_of) > 0) { /* a no-grad output */
        PyObject *key = PyLong_FromVoidPtr(a);
        if (key == NULL) goto out;
        PyObject *e = PyDict_GetItemWithError(vid_of, key); /* borrowed */
        Py_DECREF(key);
        if (e == NULL && PyErr_Occurred()) goto out;
        if (e != NULL && PyTuple_CheckExact(e) && PyTuple_GET_SIZE(e) == 4) {
            Py_INCREF(e);
            PyObject *obj = deref(PyTuple_GET_ITEM(e, 0));
            int hit = obj == a;
            Py_XDECREF(obj);
            if (obj == NULL) {
                Py_DECREF(e);
                goto out;
            }
            if (hit) {
                PyObject *version = version_of(a);
                hit = version ? PyObject_RichCompareBool(PyTuple_GET_ITEM(e, 2), version, Py_EQ)
                              : -1;
                Py_XDECREF(version);
                if (hit > 0) {
                    hit = PyLong_AsVoidPtr(PyTuple_GET_ITEM(e, 3)) == (void *)gf;
                    if (PyErr_Occurred()) hit = -1;
                }
                if (hit > 0) {
                    ref = PyTuple_GET_ITEM(e, 1);
                    Py_INCREF(ref);
                }
            }
            Py_DECREF(e);
            if (hit != 0) goto out; /* found, or an error */
        }
    }
    ref = leaf_for(p, a, gf, params, index_n);
    if (ref != NULL && param_use(a, ref, position, uses) < 0) Py_CLEAR(ref);
out:
    Py_DECREF(gf);
    return ref;
}

/* The shared attribute items of recent ops by the identities of their names and values, as
 * by_items keeps input refs: an op called with the same attribute objects as before (a
 * module's stride tuple, a default argument) gets them without building, hashing and comparing
 * the items. A slot holds the shared items, which keep those objects alive. */
#define BY_ATTRS 256 /* a power of two */
static PyObject *by_attrs[BY_ATTRS];

/* What an attribute value hashes by in ``by_attrs``: a float by its bits and an int by its value
 * (an op called as ``f(x, eps=float(eps))`` passes a new float object each call), anything
 * else by its address. */
static uint64_t attr_bits(PyObject *v) {
    if (PyFloat_CheckExact(v)) {
        double d = PyFloat_AS_DOUBLE(v);
        uint64_t b;
        memcpy(&b, &d, sizeof b);
        return b ^ 0x9e3779b97f4a7c15ULL;
    }
    if (PyLong_CheckExact(v)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (!overflow && !(x == -1 && PyErr_Occurred())) return (uint64_t)x ^ 0xc2b2ae3d27d4eb4fULL;
        PyErr_Clear();
    }
    return (uint64_t)(uintptr_t)v;
}

/* Whether attribute values ``a`` and ``b`` are one value of one kind: the same object, or two
 * floats with the same bits, or two ints that are equal (what share_plain would merge) */
static int attr_same(PyObject *a, PyObject *b) {
    if (a == b) return 1;
    if (Py_TYPE(a) != Py_TYPE(b)) return 0;
    if (PyFloat_CheckExact(a)) {
        double x = PyFloat_AS_DOUBLE(a), y = PyFloat_AS_DOUBLE(b);
        return memcmp(&x, &y, sizeof x) == 0;
    }
    if (PyLong_CheckExact(a)) {
        int eq = PyObject_RichCompareBool(a, b, Py_EQ);
        if (eq < 0) PyErr_Clear();
        return eq > 0;
    }
    return 0;
}

static size_t attrs_slot(PyObject *const *kv, Py_ssize_t n) {
    uint64_t h = (uint64_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        h = mix64(h ^ (uint64_t)(uintptr_t)kv[2 * i]);
        h = mix64(h ^ attr_bits(kv[2 * i + 1]));
    }
    return (size_t)h & (BY_ATTRS - 1);
}

/* Whether ``items`` (a tuple of pairs) holds the names kv[0], kv[2], ... (the very objects) with
 * the values kv[1], kv[3], ... (see attr_same), in order */
static int items_are(PyObject *items, PyObject *const *kv, Py_ssize_t n) {
    if (items == NULL || PyTuple_GET_SIZE(items) != n) return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GET_ITEM(items, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 ||
            PyTuple_GET_ITEM(pair, 0) != kv[2 * i] ||
            !attr_same(PyTuple_GET_ITEM(pair, 1), kv[2 * i + 1]))
            return 0;
    }
    return 1;
}

/* tuple(attrs.items()), made plain by _values.plain unless every value already is (values
 * that are tuples of plain values stay as they are: plain() would rebuild equal ones) */
static PyObject *attr_items(PyObject *attrs) {
    if (attrs == Py_None) return PyTuple_New(0);
    if (!PyDict_CheckExact(attrs)) return PyObject_CallOneArg(R.plain, attrs);
    Py_ssize_t n = PyDict_GET_SIZE(attrs), pos = 0, i = 0;
    if (n == 0) return PyTuple_New(0);
    PyObject *kv[16], *k, *v;
    size_t at = 0;
    if (n <= 8) {
        while (PyDict_Next(attrs, &pos, &k, &v)) kv[i++] = k, kv[i++] = v;
        at = attrs_slot(kv, n);
        if (items_are(by_attrs[at], kv, n)) return Py_NewRef(by_attrs[at]);
        pos = i = 0;
    }
    PyObject *items = PyTuple_New(n);
    if (items == NULL) return NULL;
    int all_plain = 1;
    while (PyDict_Next(attrs, &pos, &k, &v)) {
        PyObject *item = PyTuple_Pack(2, k, v);
        if (item == NULL) {
            Py_DECREF(items);
            return NULL;
        }
        PyTuple_SET_ITEM(items, i++, item);
        all_plain = all_plain && is_plain_deep(v, 3);
    }
    if (!all_plain) {
        PyObject *r = PyObject_CallOneArg(R.plain, items);
        Py_DECREF(items);
        return r;
    }
    items = share_plain(items);
    if (n <= 8 && items_are(items, kv, n)) /* NOTE: the shared copy holds these values */
        Py_XSETREF(by_attrs[at], Py_NewRef(items));
    return items;
}

/* p.raw (a new reference) and its length, when the pass has room for one more event; NULL
 * with *full set when the Python observer must take the event (a pass at max_events, or a raw
 * that is not a list); NULL with an exception on error. */
static PyObject *room_in(PyObject *p, Py_ssize_t *n_raw, int *full) {
    *full = 0;
    PyObject *raw = sget(p, &SL_p_raw);
    PyObject *max_events = raw ? sget(p, &SL_p_max_events) : NULL;
    if (max_events == NULL) {
        Py_XDECREF(raw);
        return NULL;
    }
    Py_ssize_t limit = PyLong_AsSsize_t(max_events);
    Py_DECREF(max_events);
    if (limit == -1 && PyErr_Occurred()) {
        Py_DECREF(raw);
        return NULL;
    }
    if (!PyList_CheckExact(raw) || (*n_raw = PyList_GET_SIZE(raw)) >= limit) {
        *full = 1;
        Py_DECREF(raw);
        return NULL;
    }
    return raw;
}

/* Record one op in pass p. Returns 0 when recorded, 1 when the Python observer must take the
 * whole call (decided before anything is written), -1 on error. */
static int record_op(PyObject *p, PyObject *op, PyObject *args, PyObject *attrs, PyObject *out) {
    int rc = -1;
    PyObject *raw = NULL, *calls = NULL, *data = NULL, *index = NULL, *vid_of = NULL,
             *params = NULL, *ins = NULL, *uses = NULL, *stack = NULL, *scope = NULL, *ogf = NULL,
             *eid = NULL, *items = NULL, *seconds = NULL, *shape = NULL, *dtype = NULL,
             *device = NULL, *rg = NULL, *ev = NULL, *seq = NULL, *refs = NULL;
    double t = now();
    if (t == -1.0 && PyErr_Occurred()) return -1;

    /* ---- the slow cases, decided before anything is written */
    Py_ssize_t n_raw;
    int full;
    raw = room_in(p, &n_raw, &full);
    if (raw == NULL) return full ? 1 : -1;
    int level = strue(p, &SL_p_level);
    if (level < 0) goto done;
    if (level) goto slow;
    calls = sget(p, &SL_p_calls);
    if (calls == NULL) goto done;
    if (calls != Py_None) goto slow;
    data = sget(out, &SL_t_data);
    if (data == NULL) goto done;
    if (Py_TYPE(data) != R.ndarray) goto slow;

    /* ---- the inputs */
    index = sget(p, &SL_p_index);
    Py_ssize_t index_n = index ? PyLong_AsSsize_t(index) : -1;
    if (index_n == -1 && PyErr_Occurred()) goto done;
    vid_of = index ? sget(p, &SL_p_vid_of) : NULL;
    params = vid_of ? sget(p, &SL_p_params) : NULL;
    seq = params ? PySequence_Fast(args, "op arguments") : NULL;
    Py_ssize_t n_args = seq ? PySequence_Fast_GET_SIZE(seq) : 0;
    ins = seq ? PyTuple_New(n_args) : NULL; /* NOTE: filled in order; a shared copy below */
    if (ins == NULL) goto done;
    for (Py_ssize_t i = 0; i < n_args; i++) {
        PyObject *a = PySequence_Fast_GET_ITEM(seq, i), *ref;
        if (PyObject_TypeCheck(a, R.tensor)) {
            ref = tensor_ref(p, a, index, index_n, vid_of, params, i, &uses);
        } else if (a == Py_None) {
            ref = R.none_ref;
            Py_INCREF(ref);
        } else if (is_plain(a)) {
            ref = PyTuple_Pack(1, a);
        } else {
            ref = Py_TYPE(a) == R.ndarray ? known_array_const(a) : NULL;
            if (ref == NULL && !PyErr_Occurred()) ref = PyObject_CallOneArg(R.operand, a);
        }
        if (ref == NULL) goto done;
        PyTuple_SET_ITEM(ins, i, ref);
    }

    /* ---- the scope (Pass.scope_now, with no module-call frames) */
    stack = sget(p, &SL_p_stack);
    if (stack == NULL) goto done;
    if (PyList_CheckExact(stack) && PyList_GET_SIZE(stack) == 0) {
        scope = R.top;
        Py_INCREF(scope);
    } else if (PyList_CheckExact(stack)) {
        scope = scope_for(stack);
    } else {
        scope = PyObject_CallOneArg(R.scope_of, stack);
    }
    if (scope == NULL) goto done;

    /* ---- where later ops find this output */
    eid = PyLong_FromSsize_t(n_raw);
    ogf = eid ? sget(out, &SL_t_grad_fn) : NULL;
    if (ogf == NULL) goto done;
    if (ogf == op) {
        PyObject *mark = uses ? PyTuple_Pack(3, index, eid, uses) : PyTuple_Pack(2, index, eid);
        int bad = mark == NULL || sset(op, &SL_op_trace, mark) < 0;
        Py_XDECREF(mark);
        if (bad) goto done;
    } else {
        PyObject *ref = PyWeakref_NewRef(out, NULL);
        PyObject *version = ref ? version_of(out) : NULL;
        PyObject *key = version ? PyLong_FromVoidPtr(out) : NULL;
        PyObject *entry = key ? Py_BuildValue("(OOON)", ref, eid, version,
                                              PyLong_FromVoidPtr(ogf))
                              : NULL;
        int bad = entry == NULL || PyObject_SetItem(vid_of, key, entry) < 0;
        Py_XDECREF(ref);
        Py_XDECREF(version);
        Py_XDECREF(key);
        Py_XDECREF(entry);
        if (bad) goto done;
    }

    /* ---- the event */
    items = attr_items(attrs);
    seconds = items ? seconds_since_last(p, t) : NULL;
    shape = seconds ? shape_of(data) : NULL;
    dtype = shape ? dtype_of(data) : NULL;
    device = dtype ? sget(out, &SL_t_device) : NULL;
    rg = device ? sget(out, &SL_t_requires_grad) : NULL;
    if (rg == NULL) goto done;
    refs = ins;
    ins = NULL;
    int how = shareable_refs(refs);
    if (how) refs = share_items_in(refs, how == 2);
    if (refs == NULL) goto done;
    ev = PyTuple_Pack(13, R.op_kind, (PyObject *)Py_TYPE(op), scope, refs, shape, dtype, device,
                      rg, items, seconds, Py_None, Py_None, Py_None);
    if (ev == NULL || PyList_Append(raw, ev) < 0) goto done;
    rc = stamp(p);
    goto done;
slow:
    rc = 1;
done:
    Py_XDECREF(raw);
    Py_XDECREF(calls);
    Py_XDECREF(data);
    Py_XDECREF(index);
    Py_XDECREF(vid_of);
    Py_XDECREF(params);
    Py_XDECREF(ins);
    Py_XDECREF(seq);
    Py_XDECREF(uses);
    Py_XDECREF(stack);
    Py_XDECREF(scope);
    Py_XDECREF(ogf);
    Py_XDECREF(eid);
    Py_XDECREF(items);
    Py_XDECREF(seconds);
    Py_XDECREF(shape);
    Py_XDECREF(dtype);
    Py_XDECREF(device);
    Py_XDECREF(rg);
    Py_XDECREF(ev);
    Py_XDECREF(refs);
    return rc;
}

static PyObject *not_configured(void) {
    PyErr_SetString(PyExc_RuntimeError,
                    "graphlab.trace._fastrec: configure() was not called (graphlab.trace._accel "
                    "does it on import)");
    return NULL;
}

/* This thread's dict of _store.tls (a threading.local, where ``tls.current`` lives), found
 * once per thread state: ``tls.current`` through getattr costs a lookup of the thread's dict, a
 * type lookup and a dict lookup on every event. A slot per recent thread state, keyed by its id
 * (ids are never reused: a foreign thread that drops its thread state between calls gets a new
 * one), holds the dict borrowed: the local keeps it as long as the thread state lives. NOTE: a
 * global table, not C thread-local storage, whose every read in a shared library is a call
 * (__tls_get_addr); the GIL guards it. */
#define THREADS 16 /* a power of two */
static struct {
    uint64_t state; /* PyThreadState_GetID + 1 (0: empty) */
    uint64_t config; /* the configure() it was found under */
    PyObject *dict;
} threads[THREADS];
static uint64_t configured; /* configure() calls so far */

/* This thread's dict of _store.tls, borrowed; NULL (no error) where it has none of its own
 * kind (then getattr reads tls.current). */
static PyObject *tls_dict(int *error) {
    uint64_t state = PyThreadState_GetID(PyThreadState_Get()) + 1;
    *error = 0;
    size_t at = (size_t)(state * 0x9e3779b97f4a7c15ULL >> 40) & (THREADS - 1);
    if (threads[at].state == state && threads[at].config == configured) return threads[at].dict;
    PyObject *d = PyObject_GetAttr(R.tls, S_dict);
    if (d == NULL) {
        *error = 1;
        return NULL;
    }
    int usable = PyDict_CheckExact(d);
    Py_DECREF(d); /* NOTE: the local holds it (see above) */
    threads[at].state = usable ? state : 0;
    threads[at].config = configured;
    threads[at].dict = usable ? d : NULL;
    return threads[at].dict;
}

/* tls.current (a new reference; NULL with an exception on error) */
static PyObject *tls_current(void) {
    int error;
    PyObject *d = tls_dict(&error);
    if (error) return NULL;
    PyObject *p = d ? PyDict_GetItemWithError(d, S_current) : NULL; /* borrowed */
    if (p == NULL) return PyErr_Occurred() ? NULL : PyObject_GetAttr(R.tls, S_current);
    return Py_NewRef(p);
}

/* tls.current = p */
static int tls_set_current(PyObject *p) {
    int error;
    PyObject *d = tls_dict(&error);
    if (error) return -1;
    return d ? PyDict_SetItem(d, S_current, p) : PyObject_SetAttr(R.tls, S_current, p);
}

/* The pass receiving this thread's events if its flag ``flag`` is set, else NULL with no error
 * (a new reference; NULL with an exception on error). */
static PyObject *current_pass(const Slot *flag) {
    PyObject *p = tls_current();
    if (p == NULL) return NULL;
    if (p == Py_None) {
        Py_DECREF(p);
        return NULL;
    }
    int on = strue(p, flag);
    if (on <= 0) {
        Py_DECREF(p);
        return NULL;
    }
    return p;
}

/* What a hook returns once record_op/record_backward said ``rc`` (and releases ``p``): the
 * Python observer's result when it must take the whole call (1), None when recorded (0), and
 * after a recorder error (-1) None once _store.broken has stopped the pass (NULL if that
 * raised, as it would in the Python observer). */
static PyObject *settle(PyObject *p, int rc, PyObject *py_observer, PyObject *const *a,
                        Py_ssize_t n) {
    PyObject *result;
    if (rc == 1) result = PyObject_Vectorcall(py_observer, a, n, NULL);
    else if (rc < 0 && report_broken(p) < 0) result = NULL;
    else result = Py_NewRef(Py_None);
    Py_DECREF(p);
    return result;
}

/* on_op(op, args, attrs, out): function.op_observers hook */
static PyObject *fast_on_op(PyObject *Py_UNUSED(self), PyObject *const *a, Py_ssize_t n) {
    if (!R.ready) return not_configured();
    if (n != 4) {
        PyErr_Format(PyExc_TypeError, "on_op() takes 4 arguments (op, args, attrs, out), got %zd",
                     n);
        return NULL;
    }
    PyObject *p = current_pass(&SL_p_ops_ok);
    if (p == NULL) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    return settle(p, record_op(p, a[0], a[1], a[2], a[3]), R.py_on_op, a, n);
}

/* ----- the backward observer ------------------------------------------------------------------ */

/* The contributions of the parameter ``uses`` among a node's input gradients, and the squared
 * norms: _backward._param_grads at level "meta" (keep_all is ``not p.auto`` there). */
static int param_grads(PyObject *p, PyObject *uses, PyObject *in_grads, PyObject *shapes,
                       PyObject *fid, PyObject **pgs_out, PyObject **norms_out) {
    int keep_all = strue(p, &SL_p_auto);
    if (keep_all < 0) return -1;
    keep_all = !keep_all;
    PyObject *reused = sget(p, &SL_p_reused);
    if (reused == NULL) return -1;
    Py_ssize_t n = PyTuple_GET_SIZE(shapes);
    PyObject *pgs = PyList_New(0), *norms = NULL;
    if (pgs == NULL) goto fail;
    Py_ssize_t n_uses = PyList_GET_SIZE(uses);
    for (Py_ssize_t u = 0; u < n_uses; u++) {
        PyObject *use = PyList_GET_ITEM(uses, u);
        Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(use, 0));
        if (i == -1 && PyErr_Occurred()) goto fail;
        if (i >= n || PyTuple_GET_ITEM(shapes, i) == Py_None) continue; /* no gradient */
        if (norms == NULL) {
            norms = PyList_New(n);
            if (norms == NULL) goto fail;
            for (Py_ssize_t j = 0; j < n; j++) {
                Py_INCREF(Py_None);
                PyList_SET_ITEM(norms, j, Py_None);
            }
        }
        PyObject *g = PyTuple_GET_ITEM(in_grads, i), *sq = PyList_GET_ITEM(norms, i);
        if (sq == Py_None) {
            sq = NULL;
            double q;
            if (squares_of(g, &q)) sq = PyFloat_FromDouble(q);
            else sq = PyObject_CallOneArg(R.norm, g); /* NaN, float16, strided...: NumPy's */
            if (sq == NULL) goto fail;
            PyList_SetItem(norms, i, sq); /* steals sq; norms holds it below */
        }
        PyObject *key = PyTuple_GET_ITEM(use, 1);
        int keep = keep_all;
        if (!keep && reused != Py_None) {
            keep = PySequence_Contains(reused, key);
            if (keep < 0) goto fail;
        }
        PyObject *copied = keep ? PyObject_CallOneArg(R.copy, g) : (Py_INCREF(Py_None), Py_None);
        if (copied == NULL) goto fail;
        PyObject *pg = PyTuple_Pack(5, PyTuple_GET_ITEM(use, 2), PyTuple_GET_ITEM(use, 3), fid,
                                    sq, copied);
        Py_DECREF(copied);
        if (pg == NULL || PyList_Append(pgs, pg) < 0) {
            Py_XDECREF(pg);
            goto fail;
        }
        Py_DECREF(pg);
    }
    Py_DECREF(reused);
    *pgs_out = pgs;
    if (norms == NULL) {
        Py_INCREF(Py_None);
        norms = Py_None;
    }
    *norms_out = norms;
    return 0;
fail:
    Py_DECREF(reused);
    Py_XDECREF(pgs);
    Py_XDECREF(norms);
    return -1;
}

/* Whether graph-node class ``cls`` keeps Op.name (its backward steps are named when the trace is
 * read) -- 1, 0, or -1 on error; remembered per class while the class is unchanged (its type
 * version tag, which CPython renews when the class or a base is modified). A slot holds a
 * strong reference, so its address is not reused. */
#define NAME_CLASSES 64 /* a power of two */
static struct {
    PyTypeObject *cls;
    unsigned int tag; /* cls->tp_version_tag when remembered */
    int keeps;
} name_classes[NAME_CLASSES];

static int keeps_op_name(PyTypeObject *cls) {
    size_t at = (size_t)(mix64((uint64_t)(uintptr_t)cls) & (NAME_CLASSES - 1));
    if (name_classes[at].cls == cls && name_classes[at].tag == cls->tp_version_tag &&
        PyType_HasFeature(cls, Py_TPFLAGS_VALID_VERSION_TAG))
        return name_classes[at].keeps;
    PyObject *name = PyObject_GetAttr((PyObject *)cls, S_name); /* NOTE: assigns a version tag */
    if (name == NULL) return -1;
    int keeps = name == R.op_name;
    Py_DECREF(name);
    Py_XSETREF(name_classes[at].cls, (PyTypeObject *)Py_NewRef(cls));
    name_classes[at].tag = cls->tp_version_tag;
    name_classes[at].keeps = keeps;
    return keeps;
}

/* Record one backward step in pass p: 0 when recorded, 1 when the Python observer must take the
 * whole call (decided before anything is written), -1 on error. */
static int record_backward(PyObject *p, PyObject *node, PyObject *grad, PyObject *in_grads) {
    int rc = -1;
    PyObject *raw = NULL, *r = NULL, *index = NULL, *fid = NULL, *uses = NULL, *shapes = NULL,
             *norms = NULL, *pgs = NULL, *gshape = NULL, *name = NULL, *seconds = NULL, *ev = NULL;
    if (Py_TYPE(grad) != R.ndarray || !PyTuple_CheckExact(in_grads)) return 1;
    int level = strue(p, &SL_p_level);
    if (level < 0) return -1;
    if (level) return 1;
    Py_ssize_t n_raw;
    int full;
    raw = room_in(p, &n_raw, &full);
    if (raw == NULL) return full ? 1 : -1;

    double t = now();
    if (t == -1.0 && PyErr_Occurred()) goto done;
    int seen = strue(p, &SL_p_backward_seen);
    if (seen < 0) goto done;
    if (!seen) {
        if (sset(p, &SL_p_backward_seen, Py_True) < 0) goto done;
        int is_auto = strue(p, &SL_p_auto);
        if (is_auto < 0) goto done;
        if (is_auto && sset(p, &SL_p_ops_ok, Py_False) < 0) goto done;
    }
    r = optional_slot(node, &SL_op_trace);
    index = r ? sget(p, &SL_p_index) : NULL;
    if (index == NULL) goto done;
    int same = 0;
    if (PyTuple_CheckExact(r) && PyTuple_GET_SIZE(r) >= 2) {
        same = PyObject_RichCompareBool(PyTuple_GET_ITEM(r, 0), index, Py_EQ);
        if (same < 0) goto done;
    }
    if (same) {
        fid = PyTuple_GET_ITEM(r, 1);
        Py_INCREF(fid);
        uses = PyTuple_GET_SIZE(r) > 2 ? PyTuple_GET_ITEM(r, 2) : Py_None;
        Py_INCREF(uses);
    } else { /* a node of a graph built outside this pass: named by identity */
        fid = Py_None;
        Py_INCREF(fid);
        PyObject *params = sget(p, &SL_p_params);
        if (params == NULL) goto done;
        int any = PyObject_IsTrue(params);
        if (any > 0) {
            uses = PyObject_CallFunctionObjArgs(R.uses_by_identity, params, node, NULL);
        } else if (any == 0) {
            uses = Py_None;
            Py_INCREF(uses);
        }
        Py_DECREF(params);
        if (uses == NULL) goto done;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(in_grads);
    shapes = PyTuple_New(n);
    if (shapes == NULL) goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *g = PyTuple_GET_ITEM(in_grads, i);
        PyObject *s = Py_TYPE(g) == R.ndarray ? shape_of(g) : get_optional(g, S_shape);
        if (s == NULL) goto done;
        PyTuple_SET_ITEM(shapes, i, s);
    }
    shapes = share_items(shapes);
    int any_uses = uses != Py_None && PyObject_IsTrue(uses);
    if (any_uses) {
        if (!PyList_CheckExact(uses)) {
            PyObject *list = PySequence_List(uses);
            if (list == NULL) goto done;
            Py_SETREF(uses, list);
        }
        if (param_grads(p, uses, in_grads, shapes, fid, &pgs, &norms) < 0) goto done;
    } else {
        pgs = PyTuple_New(0);
        norms = Py_None;
        Py_INCREF(norms);
        if (pgs == NULL) goto done;
    }
    /* NOTE: the usual name() (class name + "Backward0") is made when the record is built */
    PyObject *cls = (PyObject *)Py_TYPE(node);
    int keeps_name = keeps_op_name(Py_TYPE(node));
    if (keeps_name < 0) goto done;
    if (keeps_name) {
        name = cls;
        Py_INCREF(name);
    } else {
        name = PyObject_CallMethodNoArgs(node, S_name);
        if (name == NULL) goto done;
    }
    gshape = shape_of(grad);
    seconds = gshape ? seconds_since_last(p, t) : NULL;
    if (seconds == NULL) goto done;
    ev = PyTuple_Pack(10, R.backward_kind, name, fid, gshape, shapes, norms, pgs, seconds, Py_None,
                      Py_None);
    if (ev == NULL || PyList_Append(raw, ev) < 0) goto done;
    rc = stamp(p);
done:
    Py_XDECREF(raw);
    Py_XDECREF(r);
    Py_XDECREF(index);
    Py_XDECREF(fid);
    Py_XDECREF(uses);
    Py_XDECREF(shapes);
    Py_XDECREF(norms);
    Py_XDECREF(pgs);
    Py_XDECREF(gshape);
    Py_XDECREF(name);
    Py_XDECREF(seconds);
    Py_XDECREF(ev);
    return rc;
}

/* on_backward(node, grad, in_grads): engine.backward_observers hook */
static PyObject *fast_on_backward(PyObject *Py_UNUSED(self), PyObject *const *a, Py_ssize_t n) {
    if (!R.ready) return not_configured();
    if (n != 3) {
        PyErr_Format(PyExc_TypeError,
                     "on_backward() takes 3 arguments (node, grad, in_grads), got %zd", n);
        return NULL;
    }
    PyObject *p = current_pass(&SL_p_open);
    if (p == NULL) {
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    return settle(p, record_backward(p, a[0], a[1], a[2]), R.py_on_backward, a, n);
}

/* ----- the top-level observer -----------------------------------------------------------------
 *
 * recorder._on_top_level is the reference. A top-level module call that starts a new step (the
 * always-on pass open on this thread has run backward) closes that pass and opens the next one:
 * Pass.close, Pass(...), Pass.add_root, Trace._live and recorder._push, step for step, for the
 * common case -- the old pass holds nothing on a GPU, has no module-call frames and nothing
 * waits in _store.unsettled; the module's parameter names are known and its tree unchanged (see
 * ``roots`` below). Everything else (the first pass of a thread, record() blocks, a call that
 * continues the open pass, recording switched off) is decided before anything is written and
 * goes to the Python observer whole.
 */

static struct {
    PyObject *py_on_top_level;  /* recorder._on_top_level */
    PyObject *options;          /* recorder._options */
    PyObject *ring;             /* recorder._ring (a deque) */
    PyObject *ring_append, *ring_popleft; /* its bound methods */
    PyObject *open_auto;        /* _store.open_auto */
    PyObject *unsettled;        /* _store.unsettled */
    PyObject *indices;          /* _store._indices */
    PyObject *level_of;         /* _store._LEVEL_OF */
    PyObject *registry_globals; /* nn.modules._registry.__dict__, where _changes lives */
    PyObject *tables;           /* _scopes._tables: id(root module) -> _Table */
    PyTypeObject *trace;        /* trace.Trace */
    int ready;
} T;

/* The parameter names of recent root modules, as Pass.add_root gets them from _scopes.param_table:
 * a slot holds a root whose _Table was valid when _registry.changes() was ``stamp`` and not
 * shared (no module reachable by two paths). While the count has not moved no module tree
 * changed anywhere, so the table holds -- the check _Table.valid makes first. */
#define ROOTS 16 /* a power of two */
static struct {
    PyObject *module; /* the address, only compared (``ref`` says whether it is alive) */
    PyObject *ref;    /* weakref to the module */
    long long stamp;
    PyObject *table;
    PyObject *name; /* type(module).__name__ */
} roots[ROOTS];

static size_t root_slot(PyObject *module) {
    uint64_t h = (uint64_t)(uintptr_t)module * 0x9e3779b97f4a7c15ULL;
    return (size_t)(h >> 32) & (ROOTS - 1);
}

/* _registry.changes(); -1 with an exception on error */
static long long registry_changes(void) {
    PyObject *c = PyDict_GetItemWithError(T.registry_globals, S_changes); /* borrowed */
    if (c == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "graphlab.nn.modules._registry._changes is gone");
        return -1;
    }
    return PyLong_AsLongLong(c);
}

/* After the Python observer handled a top-level call of ``module``: remember the module's
 * parameter table if _scopes holds one that is valid now (its stamp is the current count, so
 * _Table.valid took its fast check or has just checked the tree) and not shared. */
static int remember_root(PyObject *module, long long changes) {
    size_t at = root_slot(module);
    if (roots[at].module == module && roots[at].stamp == changes && refers_to(roots[at].ref, module))
        return 0;
    PyObject *key = PyLong_FromVoidPtr(module);
    if (key == NULL) return -1;
    PyObject *e = PyDict_GetItemWithError(T.tables, key); /* borrowed */
    Py_DECREF(key);
    if (e == NULL) return PyErr_Occurred() ? -1 : 0;
    Py_INCREF(e);
    int rc = -1;
    PyObject *stamp = NULL, *shared = NULL, *table = NULL, *ref = NULL, *name = NULL;
    if ((stamp = sget(e, &SL_tb_stamp)) == NULL || (shared = sget(e, &SL_tb_shared)) == NULL ||
        (table = sget(e, &SL_tb_table)) == NULL)
        goto done;
    rc = 0;
    if (!PyLong_CheckExact(stamp) || shared != Py_False || !PyDict_CheckExact(table)) goto done;
    long long at_stamp = PyLong_AsLongLong(stamp);
    if (at_stamp == -1 && PyErr_Occurred()) {
        rc = -1;
        goto done;
    }
    if (at_stamp != changes) goto done;
    rc = -1;
    if ((ref = PyWeakref_NewRef(module, NULL)) == NULL) goto done;
    if ((name = PyObject_GetAttr((PyObject *)Py_TYPE(module), S_name_dunder)) == NULL) goto done;
    roots[at].module = module;
    roots[at].stamp = changes;
    Py_XSETREF(roots[at].ref, Py_NewRef(ref));
    Py_XSETREF(roots[at].table, Py_NewRef(table));
    Py_XSETREF(roots[at].name, Py_NewRef(name));
    rc = 0;
done:
    Py_XDECREF(stamp);
    Py_XDECREF(shared);
    Py_XDECREF(table);
    Py_XDECREF(ref);
    Py_XDECREF(name);
    Py_DECREF(e);
    return rc;
}

/* recorder._push(trace): append to the ring and drop the oldest passes past options.keep (the
 * ring is a deque that is never replaced; each call into it is atomic under the GIL) */
static int push_trace(PyObject *trace) {
    PyObject *keep_obj = sget(T.options, &SL_o_keep);
    if (keep_obj == NULL) return -1;
    Py_ssize_t keep = PyLong_AsSsize_t(keep_obj);
    Py_DECREF(keep_obj);
    if (keep == -1 && PyErr_Occurred()) return -1;
    if (keep <= 0) return 0;
    PyObject *r = PyObject_CallOneArg(T.ring_append, trace);
    if (r == NULL) return -1;
    Py_DECREF(r);
    Py_ssize_t n;
    while ((n = PyObject_Size(T.ring)) > keep) {
        r = PyObject_CallNoArgs(T.ring_popleft); /* NOTE: frees the pass it drops */
        if (r == NULL) return -1;
        Py_DECREF(r);
    }
    return n < 0 ? -1 : 0;
}

/* A new always-on Pass, as Pass(True, level, timing, max_events, stack) then add_root(module)
 * make it for a root of ``roots`` (slot ``at``); NULL with an exception on error. */
static PyObject *new_pass(PyObject *stack, PyObject *thread, PyObject *level_name,
                          PyObject *level, PyObject *timing, PyObject *max_events, size_t at) {
    PyObject *q = R.pass->tp_alloc(R.pass, 0);
    if (q == NULL) return NULL;
    PyObject *index = PyIter_Next(T.indices);
    PyObject *raw = index ? PyList_New(0) : NULL;
    PyObject *vid_of = raw ? PyDict_New() : NULL;
    PyObject *names = vid_of ? PyList_New(1) : NULL;
    double t = names ? now() : -1.0;
    PyObject *last_t = t == -1.0 && PyErr_Occurred() ? NULL : names ? PyFloat_FromDouble(t) : NULL;
    int bad = last_t == NULL;
    if (!bad) {
        PyList_SET_ITEM(names, 0, Py_NewRef(roots[at].name));
        struct {
            const Slot *slot;
            PyObject *value;
        } fields[] = {
            {&SL_p_index, index},         {&SL_p_raw, raw},
            {&SL_p_stack, stack},         {&SL_p_vid_of, vid_of},
            {&SL_p_params, roots[at].table}, {&SL_p_roots, names},
            {&SL_p_auto, Py_True},        {&SL_p_level_name, level_name},
            {&SL_p_level, level},         {&SL_p_timing, timing},
            {&SL_p_max_events, max_events}, {&SL_p_open, Py_True},
            {&SL_p_ops_ok, Py_True},      {&SL_p_backward_seen, Py_False},
            {&SL_p_reused, Py_None},      {&SL_p_calls, Py_None},
            {&SL_p_tail, Py_None},        {&SL_p_thread, thread},
            {&SL_p_last_t, last_t},
        };
        for (size_t i = 0; !bad && i < sizeof(fields) / sizeof(fields[0]); i++)
            bad = sset(q, fields[i].slot, fields[i].value) < 0;
    }
    Py_XDECREF(index);
    Py_XDECREF(raw);
    Py_XDECREF(vid_of);
    Py_XDECREF(names);
    Py_XDECREF(last_t);
    if (bad) Py_CLEAR(q);
    return q;
}

/* Trace._live(p) */
static PyObject *live_trace(PyObject *p) {
    PyObject *t = T.trace->tp_alloc(T.trace, 0);
    if (t == NULL) return NULL;
    if (sset(t, &SL_tr_events, Py_None) < 0 || sset(t, &SL_tr_meta, Py_None) < 0 ||
        sset(t, &SL_tr_later, Py_None) < 0 || sset(t, &SL_tr_pass, p) < 0)
        Py_CLEAR(t);
    return t;
}

/* Start the next step's pass for a top-level call of ``module`` when ``p``, this thread's
 * current pass, ends a step the common way: 0 when done, 1 when the Python observer must take
 * the whole call (decided before anything is written), -1 on error. */
static int next_step(PyObject *p, PyObject *module) {
    if (Py_TYPE(p) != R.pass) return 1; /* None: the first pass of this thread */
    int on;
    if ((on = strue(p, &SL_p_open)) <= 0) return on < 0 ? -1 : 1; /* closed: Python's rules */
    if ((on = strue(p, &SL_p_auto)) <= 0) return on < 0 ? -1 : 1;  /* inside record() */
    if ((on = strue(p, &SL_p_backward_seen)) <= 0) return on < 0 ? -1 : 1; /* may continue */
    if ((on = strue(T.options, &SL_o_enabled)) <= 0) return on < 0 ? -1 : 1;
    if (PyList_GET_SIZE(T.unsettled) > 0) return 1;
    for (int i = 0; i < 2; i++) { /* NOTE: work on a GPU: Pass.close decides what to do */
        PyObject *v = get_optional(p, i ? S_pending : S_cuda_marks);
        if (v == NULL) return -1;
        on = v != Py_None;
        Py_DECREF(v);
        if (on) return 1;
    }
    long long changes = registry_changes();
    if (changes == -1 && PyErr_Occurred()) return -1;
    size_t at = root_slot(module);
    if (roots[at].module != module || roots[at].stamp != changes || !refers_to(roots[at].ref, module))
        return 1;

    int rc = -1;
    PyObject *calls = NULL, *stack = NULL, *thread = NULL, *level_name = NULL, *timing = NULL,
             *max_events = NULL, *q = NULL, *trace = NULL;
    if ((calls = sget(p, &SL_p_calls)) == NULL || (stack = sget(p, &SL_p_stack)) == NULL ||
        (thread = sget(p, &SL_p_thread)) == NULL ||
        (level_name = sget(T.options, &SL_o_level)) == NULL ||
        (timing = sget(T.options, &SL_o_timing)) == NULL ||
        (max_events = sget(T.options, &SL_o_max_events)) == NULL)
        goto done;
    PyObject *level = PyDict_GetItemWithError(T.level_of, level_name); /* borrowed */
    if (level == NULL) {
        if (!PyErr_Occurred()) rc = 1;
        goto done;
    }
    if (calls != Py_None || !PyList_CheckExact(stack) || !PyLong_CheckExact(max_events)) {
        rc = 1;
        goto done;
    }

    /* ---- Pass.close() of the old pass */
    PyObject *closed[] = {Py_False, Py_False, Py_None, Py_None, Py_None, Py_None, Py_None};
    const Slot *closing[] = {&SL_p_open, &SL_p_ops_ok, &SL_p_vid_of, &SL_p_params, &SL_p_tail,
                             &SL_p_stack, &SL_p_reused};
    for (size_t i = 0; i < sizeof(closing) / sizeof(closing[0]); i++) {
        if (i == 2 && PySet_Discard(T.open_auto, p) < 0) goto done;
        if (sset(p, closing[i], closed[i]) < 0) goto done;
    }

    /* ---- the new pass, current on this thread, in the ring */
    q = new_pass(stack, thread, level_name, level, timing, max_events, at);
    if (q == NULL || PySet_Add(T.open_auto, q) < 0) goto done;
    if (tls_set_current(q) < 0) goto done;
    if ((trace = live_trace(q)) == NULL || push_trace(trace) < 0) goto done;
    rc = 0;
done:
    Py_XDECREF(calls);
    Py_XDECREF(stack);
    Py_XDECREF(thread);
    Py_XDECREF(level_name);
    Py_XDECREF(timing);
    Py_XDECREF(max_events);
    Py_XDECREF(q);
    Py_XDECREF(trace);
    return rc;
}

/* on_top_level(module, args, kwargs): nn.modules.module.top_level_observers hook */
static PyObject *fast_on_top_level(PyObject *Py_UNUSED(self), PyObject *const *a, Py_ssize_t n) {
    if (!R.ready || !T.ready) return not_configured();
    if (n != 3) {
        PyErr_Format(PyExc_TypeError,
                     "on_top_level() takes 3 arguments (module, args, kwargs), got %zd", n);
        return NULL;
    }
    PyObject *p = tls_current();
    if (p == NULL) return NULL;
    int rc = next_step(p, a[0]);
    Py_DECREF(p);
    if (rc == 0) Py_RETURN_NONE;
    if (rc < 0) {
        PyObject *now_current = tls_current();
        if (now_current == NULL) return NULL;
        rc = report_broken(now_current);
        Py_DECREF(now_current);
        if (rc < 0) return NULL;
        Py_RETURN_NONE;
    }
    PyObject *result = PyObject_Vectorcall(T.py_on_top_level, a, n, NULL);
    if (result == NULL) return NULL;
    long long changes = registry_changes();
    if ((changes == -1 && PyErr_Occurred()) || remember_root(a[0], changes) < 0) {
        PyErr_Clear(); /* NOTE: only a cache: the next call asks Python again */
    }
    return result;
}

/* configure_passes(*, ...): the objects of the top-level observer (recorder.py calls it once it
 * has defined them) */
static PyObject *configure_passes(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kwargs) {
    static char *names[] = {"py_on_top_level", "options", "ring", "open_auto",
                            "unsettled", "indices", "level_of", "registry_globals", "tables",
                            "trace", "table", NULL};
    PyObject *v[10], *table;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "$OOOO!O!OO!O!O!O!O!", names, &v[0], &v[1],
                                     &v[2], &PySet_Type, &v[3], &PyList_Type, &v[4],
                                     &v[5], &PyDict_Type, &v[6], &PyDict_Type, &v[7],
                                     &PyDict_Type, &v[8], &PyType_Type, &v[9], &PyType_Type,
                                     &table))
        return NULL;
    if (R.pass == NULL) return not_configured();
    PyObject *options_cls = (PyObject *)Py_TYPE(v[1]);
    struct {
        Slot *slot;
        PyObject *cls;
        PyObject **name;
    } slots[] = {
        {&SL_o_enabled, options_cls, &S_enabled}, {&SL_o_level, options_cls, &S_level},
        {&SL_o_timing, options_cls, &S_timing}, {&SL_o_max_events, options_cls, &S_max_events},
        {&SL_o_keep, options_cls, &S_keep},
        {&SL_tr_events, v[9], &S_events_},      {&SL_tr_pass, v[9], &S_pass_},
        {&SL_tr_meta, v[9], &S_meta_},          {&SL_tr_later, v[9], &S_later_},
        {&SL_tb_stamp, table, &S_stamp},        {&SL_tb_table, table, &S_table},
        {&SL_tb_shared, table, &S_shared},
    };
    T.ready = 0;
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
        if (slot_init(slots[i].slot, slots[i].cls, NULL, 0, slots[i].name) < 0) return NULL;
    /* NOTE: a Trace and a Pass are made here from nothing: every slot written above must be a
     * real slot of the class, or its __init__ is the only way to make one */
    for (size_t i = 5; i < 9; i++)
        if (slots[i].slot->types[0] == NULL) {
            PyErr_SetString(PyExc_TypeError, "configure_passes: Trace keeps its fields in slots");
            return NULL;
        }
    PyObject *append = PyObject_GetAttr(v[2], S_append);
    PyObject *popleft = append ? PyObject_GetAttr(v[2], S_popleft) : NULL;
    if (popleft == NULL) {
        Py_XDECREF(append);
        return NULL;
    }
    Py_XSETREF(T.ring_append, append);
    Py_XSETREF(T.ring_popleft, popleft);
    PyObject **dest[] = {&T.py_on_top_level, &T.options, &T.ring, &T.open_auto,
                         &T.unsettled, &T.indices, &T.level_of, &T.registry_globals, &T.tables,
                         (PyObject **)&T.trace};
    for (int i = 0; i < 10; i++) {
        Py_INCREF(v[i]);
        Py_XSETREF(*dest[i], v[i]);
    }
    T.ready = 1;
    Py_RETURN_NONE;
}

/* ----- configure() ---------------------------------------------------------------------------- */

static PyObject *configure(PyObject *Py_UNUSED(self), PyObject *args, PyObject *kwargs) {
    static char *names[] = {"tls", "tensor", "parameter", "op", "version", "leaf", "pass_",
                            "ndarray", "clock", "py_on_op", "py_on_backward", "leaf_of",
                            "operand", "array_consts", "plain", "scope_of",
                            "scope_cache", "top", "none_ref", "op_kind", "backward_kind",
                            "op_name", "uses_by_identity", "norm", "copy", "broken", NULL};
    PyObject *v[21], *parameter, *op, *version, *leaf, *pass;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "$OO!O!O!O!O!O!O!OOOOOO!OOO!O!O!OOOOOOO", names, &v[0], &PyType_Type,
            &v[1], &PyType_Type, &parameter, &PyType_Type, &op, &PyType_Type, &version,
            &PyType_Type, &leaf, &PyType_Type, &pass, &PyType_Type, &v[2], &v[3], &v[4], &v[5],
            &v[6], &v[7], &PyDict_Type, &v[8], &v[9], &v[10], &PyDict_Type, &v[11],
            &PyTuple_Type, &v[12], &PyTuple_Type, &v[13], &v[14], &v[15], &v[16], &v[17],
            &v[18], &v[19], &v[20]))
        return NULL;
    PyObject *tensor = v[1];
    Py_XSETREF(R.leaf, (PyTypeObject *)Py_NewRef(leaf));
    Py_XSETREF(R.pass, (PyTypeObject *)Py_NewRef(pass));
    struct {
        Slot *slot;
        PyObject *cls, *also;
        int subclasses;
        PyObject **name;
    } table[] = {
        {&SL_p_ops_ok, pass, NULL, 0, &S_ops_ok},
        {&SL_p_open, pass, NULL, 0, &S_open},
        {&SL_p_raw, pass, NULL, 0, &S_raw},
        {&SL_p_max_events, pass, NULL, 0, &S_max_events},
        {&SL_p_level, pass, NULL, 0, &S_level},
        {&SL_p_calls, pass, NULL, 0, &S_calls},
        {&SL_p_index, pass, NULL, 0, &S_index},
        {&SL_p_vid_of, pass, NULL, 0, &S_vid_of},
        {&SL_p_params, pass, NULL, 0, &S_params},
        {&SL_p_stack, pass, NULL, 0, &S_stack},
        {&SL_p_timing, pass, NULL, 0, &S_timing},
        {&SL_p_last_t, pass, NULL, 0, &S_last_t},
        {&SL_p_backward_seen, pass, NULL, 0, &S_backward_seen},
        {&SL_p_auto, pass, NULL, 0, &S_auto},
        {&SL_p_reused, pass, NULL, 0, &S_reused},
        {&SL_p_roots, pass, NULL, 0, &S_roots},
        {&SL_p_level_name, pass, NULL, 0, &S_level_name},
        {&SL_p_thread, pass, NULL, 0, &S_thread},
        {&SL_p_tail, pass, NULL, 0, &S_tail},
        {&SL_t_grad_fn, tensor, parameter, 0, &S_grad_fn},
        {&SL_t_data, tensor, parameter, 0, &S_data},
        {&SL_t_version, tensor, parameter, 0, &S_version},
        {&SL_t_requires_grad, tensor, parameter, 0, &S_requires_grad},
        {&SL_t_device, tensor, parameter, 0, &S_device},
        {&SL_t_leaf, tensor, parameter, 0, &S_trace_leaf},
        {&SL_op_trace, op, NULL, 1, &S_trace},
        {&SL_version_value, version, NULL, 0, &S_value},
        {&SL_leaf_param, leaf, NULL, 0, &S_param},
        {&SL_leaf_aliases, leaf, NULL, 0, &S_aliases},
    };
    R.ready = 0;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (slot_init(table[i].slot, table[i].cls, table[i].also, table[i].subclasses,
                      table[i].name) < 0)
            return NULL;
    PyObject **slots[] = {&R.tls, (PyObject **)&R.tensor, (PyObject **)&R.ndarray, &R.clock,
                          &R.py_on_op, &R.py_on_backward, &R.leaf_of, &R.operand,
                          &R.array_consts, &R.plain, &R.scope_of, &R.scope_cache, &R.top,
                          &R.none_ref, &R.op_kind, &R.backward_kind, &R.op_name,
                          &R.uses_by_identity, &R.norm, &R.copy, &R.broken};
    for (int i = 0; i < 21; i++) {
        Py_INCREF(v[i]);
        Py_XSETREF(*slots[i], v[i]);
    }
    configured++;
    R.ready = 1;
    Py_RETURN_NONE;
}

/* ----- hook timing (a measurement build only) ---------------------------------------------------
 *
 * Built with -DFASTREC_HOOK_TIMING (bench/trace_hooks.py does it in a scratch folder), each hook
 * adds the wall time spent inside it, read with two clock reads per call, and hook_times()
 * returns and resets the totals: how much of the recorder's cost per step is spent in the
 * hooks, and how much outside them. The build the package installs has none of this. */
#ifdef FASTREC_HOOK_TIMING
enum { TIMED_OP, TIMED_BACKWARD, TIMED_TOP_LEVEL, TIMED_HOOKS };
static struct {
    long long ns[TIMED_HOOKS], calls[TIMED_HOOKS];
} hook_timing;

typedef PyObject *(*FastHook)(PyObject *, PyObject *const *, Py_ssize_t);

static long long monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static PyObject *timed(int which, FastHook hook, PyObject *self, PyObject *const *a,
                       Py_ssize_t n) {
    long long t0 = monotonic_ns();
    PyObject *r = hook(self, a, n);
    hook_timing.ns[which] += monotonic_ns() - t0;
    hook_timing.calls[which]++;
    return r;
}

static PyObject *timed_on_op(PyObject *self, PyObject *const *a, Py_ssize_t n) {
    return timed(TIMED_OP, fast_on_op, self, a, n);
}
static PyObject *timed_on_backward(PyObject *self, PyObject *const *a, Py_ssize_t n) {
    return timed(TIMED_BACKWARD, fast_on_backward, self, a, n);
}
static PyObject *timed_on_top_level(PyObject *self, PyObject *const *a, Py_ssize_t n) {
    return timed(TIMED_TOP_LEVEL, fast_on_top_level, self, a, n);
}

static PyObject *hook_times(PyObject *Py_UNUSED(self), PyObject *Py_UNUSED(noargs)) {
    PyObject *r = Py_BuildValue(
        "{s(Ld)s(Ld)s(Ld)}", "on_op", hook_timing.calls[TIMED_OP], hook_timing.ns[TIMED_OP] / 1e9,
        "on_backward", hook_timing.calls[TIMED_BACKWARD], hook_timing.ns[TIMED_BACKWARD] / 1e9,
        "on_top_level", hook_timing.calls[TIMED_TOP_LEVEL],
        hook_timing.ns[TIMED_TOP_LEVEL] / 1e9);
    memset(&hook_timing, 0, sizeof(hook_timing));
    return r;
}
#define ON_OP timed_on_op
#define ON_BACKWARD timed_on_backward
#define ON_TOP_LEVEL timed_on_top_level
#else
#define ON_OP fast_on_op
#define ON_BACKWARD fast_on_backward
#define ON_TOP_LEVEL fast_on_top_level
#endif

static PyMethodDef methods[] = {
#ifdef FASTREC_HOOK_TIMING
    {"hook_times", hook_times, METH_NOARGS,
     "hook_times() -> {hook: (calls, seconds inside it)} since the last call (a measurement "
     "build)."},
#endif
    {"configure", (PyCFunction)(void (*)(void))configure, METH_VARARGS | METH_KEYWORDS,
     "configure(*, tls, tensor, ndarray, ...): the recorder's objects and Python helpers "
     "(graphlab.trace._accel calls it once)."},
    {"moments", (PyCFunction)fast_moments, METH_O,
     "moments(a) -> (min, max, sum, sum of squares) of a C-contiguous float32/float64 array, "
     "all finite, in one pass; None otherwise (see _stats.summary)."},
    {"on_op", (PyCFunction)(void (*)(void))ON_OP, METH_FASTCALL,
     "on_op(op, args, attrs, out): record one op applied (see _observers.on_op)."},
    {"configure_passes", (PyCFunction)(void (*)(void))configure_passes,
     METH_VARARGS | METH_KEYWORDS,
     "configure_passes(*, py_on_top_level, options, ...): the top-level observer's objects "
     "(graphlab.trace.recorder calls it once)."},
    {"on_top_level", (PyCFunction)(void (*)(void))ON_TOP_LEVEL, METH_FASTCALL,
     "on_top_level(module, args, kwargs): a top-level module call (see "
     "recorder._on_top_level)."},
    {"on_backward", (PyCFunction)(void (*)(void))ON_BACKWARD, METH_FASTCALL,
     "on_backward(node, grad, in_grads): record one graph node run in backward (see "
     "_backward.on_backward)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastrec",
    "The trace recorder's op, backward and top-level observers in C, for the common case (see "
    "graphlab/trace/_accel.py).",
    -1, methods, NULL, NULL, NULL, NULL,
};

#define INTERN(var, text)                                 \
    do {                                                  \
        if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL; \
    } while (0)

PyMODINIT_FUNC PyInit__fastrec(void) {
    INTERN(S_current, "current");
    INTERN(S_dict, "__dict__");
    INTERN(S_ops_ok, "ops_ok");
    INTERN(S_open, "open");
    INTERN(S_raw, "raw");
    INTERN(S_max_events, "max_events");
    INTERN(S_index, "index");
    INTERN(S_vid_of, "vid_of");
    INTERN(S_params, "params");
    INTERN(S_stack, "stack");
    INTERN(S_calls, "calls");
    INTERN(S_level, "level");
    INTERN(S_timing, "timing");
    INTERN(S_last_t, "last_t");
    INTERN(S_grad_fn, "grad_fn");
    INTERN(S_trace, "_trace");
    INTERN(S_version, "_version");
    INTERN(S_value, "value");
    INTERN(S_data, "_data");
    INTERN(S_device, "_device");
    INTERN(S_requires_grad, "requires_grad");
    INTERN(S_shape, "shape");
    INTERN(S_dtype, "dtype");
    INTERN(S_param, "param");
    INTERN(S_aliases, "aliases");
    INTERN(S_reuse, "reuse");
    INTERN(S_backward_seen, "backward_seen");
    INTERN(S_auto, "auto");
    INTERN(S_name, "name");
    INTERN(S_reused, "reused");
    INTERN(S_roots, "roots");
    INTERN(S_level_name, "level_name");
    INTERN(S_thread, "thread");
    INTERN(S_tail, "tail");
    INTERN(S_enabled, "enabled");
    INTERN(S_events_, "_events");
    INTERN(S_pass_, "_pass");
    INTERN(S_meta_, "_meta");
    INTERN(S_later_, "_later");
    INTERN(S_stamp, "stamp");
    INTERN(S_table, "table");
    INTERN(S_shared, "shared");
    INTERN(S_changes, "_changes");
    INTERN(S_popleft, "popleft");
    INTERN(S_keep, "keep");
    INTERN(S_append, "append");
    INTERN(S_name_dunder, "__name__");
    INTERN(S_cuda_marks, "cuda_marks");
    INTERN(S_pending, "pending");
    INTERN(S_trace_leaf, "_trace_leaf");
    if ((shared = PyDict_New()) == NULL) return NULL;
    if (PyType_Ready(&LeafEntryType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddObjectRef(m, "LeafEntry", (PyObject *)&LeafEntryType) < 0)
        Py_CLEAR(m);
    /* NOTE: _accel.py checks this against what it expects: a build older than the Python code
     * (a checkout updated without reinstalling) is left unused, with a warning */
    if (m != NULL && PyModule_AddIntConstant(m, "API", FASTREC_API) < 0) Py_CLEAR(m);
    return m;
}

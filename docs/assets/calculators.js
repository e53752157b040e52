/* Calculators page (docs/{zh,en}/calculators.md): KV cache, training memory (ZeRO), Llama
 * parameter count, conv layer. No dependencies, no build step; loaded by that page only.
 *
 * Every function below has the name, argument order, defaults, input checks and error messages of
 * the Python function it mirrors in snippets/ (named above it). tests/browser/test_calculators.py
 * compares them on many seeded inputs, bad ones included. Conventions of the mirror:
 *
 * - Python ints are BigInts here (exact at any size); an argument may be a BigInt or an integer
 *   Number up to Number.MAX_SAFE_INTEGER (a larger Number has already lost digits: it counts as
 *   a float). Integer results are always BigInts.
 * - Python floats are Numbers; a result Python computes as a float (true division) is a Number,
 *   rounded exactly as Python rounds it.
 * - A Python tuple is an Array; a Python object with attributes (a LlamaConfig) is an Object.
 * - Python's ValueError is HandbookCalc.ValueError, its TypeError is JavaScript's TypeError;
 *   the messages are Python's, word for word.
 */
(function () {
  "use strict";

  var MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

  function ValueError(message) {
    var error = new Error(message);
    error.name = "ValueError";
    Object.setPrototypeOf(error, ValueError.prototype);
    return error;
  }
  ValueError.prototype = Object.create(Error.prototype);
  ValueError.prototype.constructor = ValueError;
  ValueError.prototype.name = "ValueError";

  // ------------------------------------------------------------ Python's view of a JS value

  function isInt(v) {  // isinstance(v, int) and not isinstance(v, bool)
    return typeof v === "bigint" || (typeof v === "number" && Number.isSafeInteger(v));
  }

  function typeName(v) {  // type(v).__name__
    if (v === null || v === undefined) return "NoneType";
    if (typeof v === "boolean") return "bool";
    if (isInt(v)) return "int";
    if (typeof v === "number") return "float";
    if (typeof v === "string") return "str";
    if (Array.isArray(v)) return "tuple";
    return "dict";
  }

  function floatRepr(x) {
    if (Number.isNaN(x)) return "nan";
    if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    var a = Math.abs(x);
    var s = a >= 1e16 || a < 1e-4 ? x.toExponential() : String(x);
    // Python writes at least two exponent digits (1e-05) and marks an integral float (2.0).
    s = s.replace(/e([+-])(\d)$/, "e$10$2");
    return /[.e]/.test(s) ? s : s + ".0";
  }

  function repr(v) {  // repr(v)
    if (v === null || v === undefined) return "None";
    if (typeof v === "boolean") return v ? "True" : "False";
    if (isInt(v)) return String(v);
    if (typeof v === "number") return floatRepr(v);
    if (typeof v === "string") {
      var quote = v.indexOf("'") >= 0 && v.indexOf('"') < 0 ? '"' : "'";
      var body = v.replace(/\\/g, "\\\\");
      if (quote === "'") body = body.replace(/'/g, "\\'");
      return quote + body + quote;
    }
    if (Array.isArray(v)) {
      var items = v.map(repr);
      return "(" + items.join(", ") + (items.length === 1 ? ",)" : ")");
    }
    return "{...}";
  }

  function truthy(v) {  // bool(v)
    if (Array.isArray(v)) return v.length > 0;
    if (typeof v === "bigint") return v !== 0n;
    if (typeof v === "number") return v !== 0;  // NaN is truthy in Python too
    if (v !== null && typeof v === "object") return Object.keys(v).length > 0;
    return Boolean(v);
  }

  function big(v) {
    return typeof v === "bigint" ? v : BigInt(v);
  }

  // Python's int / int: the exact quotient rounded once to the nearest double (ties to even).
  function trueDivide(a, b) {
    if (a <= MAX_SAFE && b <= MAX_SAFE) return Number(a) / Number(b);  // both exact: one rounding
    var shift = Math.max(0, 56 - (a.toString(2).length - b.toString(2).length));
    var scaled = a << BigInt(shift);
    var q = scaled / b;
    // A sticky bit below the 56+ bits of q makes Number() round as the exact quotient would.
    q = (q << 1n) | (scaled % b === 0n ? 0n : 1n);
    return Number(q) * Math.pow(2, -(shift + 1));
  }

  function addPy(x, y) {  // x + y where an int meeting a float becomes a float first
    if (typeof x === "bigint" && typeof y === "bigint") return x + y;
    return Number(x) + Number(y);
  }

  // ------------------------------------------------ snippets/transformer/kv_cache.py, llm/memory.py

  function checkInt(value, name, minimum) {  // _check_int
    if (!isInt(value)) {
      throw new TypeError(name + " must be an int >= " + minimum + ", got " + typeName(value));
    }
    if (big(value) < BigInt(minimum)) {
      throw ValueError(name + " must be an int >= " + minimum + ", got " + String(value));
    }
    return big(value);
  }

  function kv_cache_size(num_layers, num_kv_heads, head_dim, batch_size, seq_len, bytes_per_element) {
    if (bytes_per_element === undefined) bytes_per_element = 2;
    var L = checkInt(num_layers, "num_layers", 1);
    var h = checkInt(num_kv_heads, "num_kv_heads", 1);
    var d = checkInt(head_dim, "head_dim", 1);
    var e = checkInt(bytes_per_element, "bytes_per_element", 1);
    var b = checkInt(batch_size, "batch_size", 0);
    var s = checkInt(seq_len, "seq_len", 0);
    return 2n * L * h * d * b * s * e;  // 2 = K and V
  }

  function mla_cache_size(num_layers, kv_lora_rank, qk_rope_head_dim, batch_size, seq_len,
                          bytes_per_element) {
    if (bytes_per_element === undefined) bytes_per_element = 2;
    var L = checkInt(num_layers, "num_layers", 1);
    var c = checkInt(kv_lora_rank, "kv_lora_rank", 1);
    var r = checkInt(qk_rope_head_dim, "qk_rope_head_dim", 0);
    var e = checkInt(bytes_per_element, "bytes_per_element", 1);
    var b = checkInt(batch_size, "batch_size", 0);
    var s = checkInt(seq_len, "seq_len", 0);
    return (c + r) * L * b * s * e;
  }

  function hasAttr(config, name) {
    return config !== null && typeof config === "object" && !Array.isArray(config) &&
      name in config && config[name] !== undefined;
  }

  function getAttr(config, name, fallback) {
    return hasAttr(config, name) ? config[name] : fallback;
  }

  function configInt(config, name, minimum) {  // _config_int
    if (minimum === undefined) minimum = 1;
    if (!hasAttr(config, name)) {
      throw new TypeError("config must have the attributes of a LlamaConfig; it has no " +
        repr(name) + " (" + typeName(config) + ")");
    }
    return checkInt(config[name], "config." + name, minimum);
  }

  function attentionShape(config) {  // _attention_shape: [hidden, heads, kv_heads, head_dim]
    var hidden = configInt(config, "hidden_size");
    var heads = configInt(config, "num_attention_heads");
    var kv = getAttr(config, "num_key_value_heads", null);
    kv = kv === null ? heads : checkInt(kv, "config.num_key_value_heads", 1);
    if (heads % kv !== 0n) {
      throw ValueError("config.num_attention_heads must be divisible by " +
        "config.num_key_value_heads, got " + heads + " and " + kv);
    }
    var d = getAttr(config, "head_dim", null);
    d = d === null ? hidden / heads : checkInt(d, "config.head_dim", 1);
    return [hidden, heads, kv, d];
  }

  function llama_parameter_count(config) {
    var shape = attentionShape(config);
    var e = shape[0], h = shape[1], hKv = shape[2], d = shape[3];
    var vocab = configInt(config, "vocab_size");
    var ffn = configInt(config, "intermediate_size");
    var layers = configInt(config, "num_hidden_layers", 0);
    var attnBias = truthy(getAttr(config, "attention_bias", false)) ? 1n : 0n;
    var mlpBias = truthy(getAttr(config, "mlp_bias", false)) ? 1n : 0n;
    // q and o are E x (H D); k and v are E x (H_kv D): GQA shrinks only k and v.
    var attention = 2n * e * h * d + 2n * e * hKv * d + attnBias * (h * d + 2n * hKv * d + e);
    var mlp = 3n * e * ffn + mlpBias * (2n * ffn + e);  // SwiGLU: gate, up, down
    var norms = 2n * e;  // two RMSNorm weights per layer
    var embedding = vocab * e;
    var head = truthy(getAttr(config, "tie_word_embeddings", false)) ? 0n : vocab * e;
    return embedding + layers * (attention + mlp + norms) + e + head;  // + e: final norm
  }

  function kv_cache_bytes(config, batch_size, seq_len, bytes_per_element) {
    if (bytes_per_element === undefined) bytes_per_element = 2;
    var shape = attentionShape(config);
    var layers = configInt(config, "num_hidden_layers");
    return kv_cache_size(layers, shape[2], shape[3], batch_size, seq_len, bytes_per_element);
  }

  function zero_memory_bytes(num_params, num_gpus, stage, k) {
    if (num_gpus === undefined) num_gpus = 1;
    if (stage === undefined) stage = 0;
    if (k === undefined) k = 12;
    var psi = checkInt(num_params, "num_params", 0);
    var n = checkInt(num_gpus, "num_gpus", 1);
    var kk = checkInt(k, "k", 0);
    // `stage not in (0, 1, 2, 3)` compares with ==, so True counts as 1 in Python too.
    var s = typeof stage === "boolean" ? Number(stage)
      : typeof stage === "bigint" ? (stage >= 0n && stage <= 3n ? Number(stage) : -1)
        : typeof stage === "number" ? stage : -1;
    if ([0, 1, 2, 3].indexOf(s) < 0) {
      throw ValueError("stage must be 0, 1, 2 or 3, got " + repr(stage));
    }
    var weights = 2n * psi, grads = 2n * psi, optim = kk * psi;  // fp16, fp16, fp32 states
    if (s >= 1) optim = trueDivide(optim, n);
    if (s >= 2) grads = trueDivide(grads, n);
    if (s >= 3) weights = trueDivide(weights, n);
    return addPy(addPy(weights, grads), optim);
  }

  // ------------------------------------------------------------ snippets/backbone/params_flops.py

  function pair(value, name, minimum) {  // _pair
    var p = isInt(value) ? [value, value] : value;
    if (!Array.isArray(p) || p.length !== 2 || !isInt(p[0]) || !isInt(p[1])) {
      throw new TypeError(name + " must be an int or a pair of ints (h, w), got " + repr(value));
    }
    if (big(p[0]) < BigInt(minimum) || big(p[1]) < BigInt(minimum)) {
      throw ValueError(name + " must be >= " + minimum + ", got " + repr(value));
    }
    return [big(p[0]), big(p[1])];
  }

  function checkChannels(inChannels, outChannels, groups) {  // _check_channels
    var named = [["in_channels", inChannels], ["out_channels", outChannels], ["groups", groups]];
    named.forEach(function (item) {
      if (!isInt(item[1])) throw new TypeError(item[0] + " must be an int, got " + repr(item[1]));
      if (big(item[1]) < 1n) throw ValueError(item[0] + " must be >= 1, got " + String(item[1]));
    });
    if (big(inChannels) % big(groups) !== 0n || big(outChannels) % big(groups) !== 0n) {
      throw ValueError("groups=" + groups + " must divide both in_channels=" + inChannels +
        " and out_channels=" + outChannels);
    }
  }

  function conv2d_params(in_channels, out_channels, kernel_size, groups, bias) {
    if (groups === undefined) groups = 1;
    if (bias === undefined) bias = true;
    checkChannels(in_channels, out_channels, groups);
    var k = pair(kernel_size, "kernel_size", 1);
    var perOutput = (big(in_channels) / big(groups)) * k[0] * k[1] + (truthy(bias) ? 1n : 0n);
    return perOutput * big(out_channels);
  }

  function conv2d_output_size(size, kernel_size, stride, padding, dilation) {
    if (stride === undefined) stride = 1;
    if (padding === undefined) padding = 0;
    if (dilation === undefined) dilation = 1;
    var n = pair(size, "size", 1);
    var k = pair(kernel_size, "kernel_size", 1);
    var s = pair(stride, "stride", 1);
    var p = pair(padding, "padding", 0);
    var d = pair(dilation, "dilation", 1);
    var out = [];
    ["H", "W"].forEach(function (axis, i) {
      var span = d[i] * (k[i] - 1n) + 1n;  // input positions one dilated window covers
      if (span > n[i] + 2n * p[i]) {
        throw ValueError("kernel_size " + repr(kernel_size) + " with dilation " + repr(dilation) +
          " spans " + span + " along " + axis + ", more than the padded input size " +
          (n[i] + 2n * p[i]));
      }
      out.push((n[i] + 2n * p[i] - span) / s[i] + 1n);  // all >= 0: BigInt division floors
    });
    return out;
  }

  function conv2d_macs(in_channels, out_channels, kernel_size, input_size, stride, padding,
                       dilation, groups) {
    if (groups === undefined) groups = 1;
    checkChannels(in_channels, out_channels, groups);
    var hw = conv2d_output_size(input_size, kernel_size, stride, padding, dilation);
    var k = pair(kernel_size, "kernel_size", 1);
    return hw[0] * hw[1] * big(out_channels) * (big(in_channels) / big(groups)) * k[0] * k[1];
  }

  var API = {
    kv_cache_size: kv_cache_size,
    mla_cache_size: mla_cache_size,
    kv_cache_bytes: kv_cache_bytes,
    llama_parameter_count: llama_parameter_count,
    zero_memory_bytes: zero_memory_bytes,
    conv2d_output_size: conv2d_output_size,
    conv2d_params: conv2d_params,
    conv2d_macs: conv2d_macs,
    ValueError: ValueError,
  };
  window.HandbookCalc = API;

  // ------------------------------------------------------------------------------- the forms

  // Presets: values of each model's config.json on the Hugging Face Hub (the page links them).
  var LLAMA = {
    "llama-2-7b": {vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008,
      num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32},
    "llama-2-70b": {vocab_size: 32000, hidden_size: 8192, intermediate_size: 28672,
      num_hidden_layers: 80, num_attention_heads: 64, num_key_value_heads: 8},
    "llama-3-8b": {vocab_size: 128256, hidden_size: 4096, intermediate_size: 14336,
      num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 8},
    "llama-3.2-1b": {vocab_size: 128256, hidden_size: 2048, intermediate_size: 8192,
      num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 64,
      tie_word_embeddings: true},
  };
  var KV = {  // num_layers, num_kv_heads, head_dim
    "qwen2.5-7b": {num_layers: 28, num_kv_heads: 4, head_dim: 128},  // 3584 / 28 heads
  };
  Object.keys(LLAMA).forEach(function (name) {
    var c = LLAMA[name];
    KV[name] = {num_layers: c.num_hidden_layers, num_kv_heads: c.num_key_value_heads,
      head_dim: c.head_dim || c.hidden_size / c.num_attention_heads};
  });
  var PRESETS = {
    kv: KV,
    mla: {"deepseek-v2": {num_layers: 60, kv_lora_rank: 512, qk_rope_head_dim: 64}},
    params: LLAMA,
    zero: {
      "zero-paper": {num_params: "7500000000", num_gpus: 64, k: 12},
      "llama-2-7b": {num_params: String(llama_parameter_count(LLAMA["llama-2-7b"])), k: 12},
      "llama-3-8b": {num_params: String(llama_parameter_count(LLAMA["llama-3-8b"])), k: 12},
    },
    conv: {
      "resnet-stem": {in_channels: 3, out_channels: 64, kernel_size: 7, input_size: 224,
        stride: 2, padding: 3, dilation: 1, groups: 1, bias: false},
      "resnet-3x3": {in_channels: 64, out_channels: 64, kernel_size: 3, input_size: 56,
        stride: 1, padding: 1, dilation: 1, groups: 1, bias: false},
      "depthwise-3x3": {in_channels: 256, out_channels: 256, kernel_size: 3, input_size: 56,
        stride: 1, padding: 1, dilation: 1, groups: 256, bias: false},
      "pointwise-1x1": {in_channels: 256, out_channels: 256, kernel_size: 1, input_size: 56,
        stride: 1, padding: 0, dilation: 1, groups: 1, bias: false},
    },
  };
  API.PRESETS = PRESETS;

  // A field's text as the Python value a reader means: "4096" and "4,096" -> int, "3, 5" or
  // "3x5" -> a pair (tuple), "2.5" -> float, "" -> None, anything else -> the string itself.
  function parseValue(text, allowPair) {
    var t = text.trim();
    if (t === "") return null;
    var digits = t.replace(/[_\s]/g, "");
    // "4,096" groups digits; in a pair field a comma separates h and w instead.
    if (!allowPair && /^[+-]?\d{1,3}(,\d{3})+$/.test(digits)) digits = digits.replace(/,/g, "");
    if (/^[+-]?\d+$/.test(digits)) {
      var v = BigInt(digits);
      return v >= -MAX_SAFE && v <= MAX_SAFE ? Number(v) : v;
    }
    if (allowPair) {
      var parts = t.split(/\s*[,x×*]\s*/);
      if (parts.length === 2 && parts.every(function (p) { return p !== ""; })) {
        return parts.map(function (p) { return parseValue(p, false); });
      }
    }
    if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(digits)) return Number(digits);
    return t;
  }

  function group(n) {  // 8030261248n -> "8,030,261,248"
    var s = typeof n === "bigint" ? n.toString() : String(Math.round(n));
    var sign = s[0] === "-" ? "-" : "";
    var body = sign ? s.slice(1) : s;
    return sign + body.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function short(x) {  // three significant digits, no exponent below 1e21
    if (x === 0) return "0";
    return x >= 100 ? x.toFixed(1) : Number(x.toPrecision(3)).toString();
  }

  function plainNumber(v) {  // exact integers and floats as a reader writes them
    if (typeof v === "bigint") return group(v);
    if (Number.isInteger(v)) return group(v);
    var whole = Math.trunc(v);
    var frac = Math.abs(v - whole).toFixed(2).slice(1);
    return group(whole) + frac;
  }

  function bytesText(v) {
    var x = Number(v);
    return plainNumber(v) + " B = " + short(x / Math.pow(2, 30)) + " GiB = " +
      short(x / 1e9) + " GB";
  }

  function countText(v) {
    var x = Number(v);
    if (x < 1e4) return plainNumber(v);
    var exp = Math.floor(Math.log10(x));
    var mantissa = x / Math.pow(10, exp);
    if (mantissa >= 9.995) { mantissa /= 10; exp += 1; }
    var sup = String(exp).replace(/\d/g, function (c) { return "⁰¹²³⁴⁵⁶⁷⁸⁹"[c]; });
    return plainNumber(v) + " ≈ " + mantissa.toFixed(2) + " × 10" + sup;
  }

  function valueOf(form, name, allowPair) {
    var el = form.elements[name];
    if (!el) return undefined;
    if (el.type === "checkbox") return el.checked;
    if (el.tagName === "SELECT" && name !== "preset") return parseValue(el.value, false);
    return parseValue(el.value, allowPair);
  }

  function setOut(form, name, value, text) {
    var out = form.querySelector('[data-out="' + name + '"]');
    if (!out) return;
    out.textContent = text;
    out.setAttribute("data-value", value === null ? "" : String(value));
  }

  // The argument a Python error message names first ("config.hidden_size must ...", "groups=3
  // must ...", "kernel_size (3, 3) with dilation ..."), mapped to the form's field.
  function fieldOf(message, aliases) {
    var m = /^([A-Za-z_.]+)/.exec(message);
    var name = m ? m[1].replace(/^config\./, "") : "";
    return aliases && aliases[name] ? aliases[name] : name;
  }

  var FORMS = {
    kv: {
      run: function (f) {
        var args = ["num_layers", "num_kv_heads", "head_dim"].map(function (n) {
          return valueOf(f, n);
        });
        var batch = valueOf(f, "batch_size"), seq = valueOf(f, "seq_len");
        var bpe = valueOf(f, "bytes_per_element");
        var total = kv_cache_size(args[0], args[1], args[2], batch, seq, bpe);
        var perToken = kv_cache_size(args[0], args[1], args[2], 1, 1, bpe);
        return {bytes: [total, bytesText(total)], per_token: [perToken, bytesText(perToken)]};
      },
    },
    mla: {
      run: function (f) {
        var L = valueOf(f, "num_layers"), c = valueOf(f, "kv_lora_rank");
        var r = valueOf(f, "qk_rope_head_dim"), bpe = valueOf(f, "bytes_per_element");
        var total = mla_cache_size(L, c, r, valueOf(f, "batch_size"), valueOf(f, "seq_len"), bpe);
        var perToken = mla_cache_size(L, c, r, 1, 1, bpe);
        return {bytes: [total, bytesText(total)], per_token: [perToken, bytesText(perToken)]};
      },
    },
    params: {
      run: function (f) {
        var config = {};
        ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
          "num_attention_heads", "num_key_value_heads", "head_dim"].forEach(function (n) {
          config[n] = valueOf(f, n);  // an empty optional field is None: LlamaConfig's default
        });
        ["tie_word_embeddings", "attention_bias", "mlp_bias"].forEach(function (n) {
          config[n] = valueOf(f, n);
        });
        var count = llama_parameter_count(config);
        var kv = [null, "—"];  // a model with 0 layers has parameters but no KV cache
        if (config.num_hidden_layers !== 0) {
          var bytes = kv_cache_bytes(config, 1, 1, 2);
          kv = [bytes, bytesText(bytes)];
        }
        return {params: [count, countText(count)], kv_per_token: kv};
      },
    },
    zero: {
      run: function (f) {
        var psi = valueOf(f, "num_params"), n = valueOf(f, "num_gpus"), k = valueOf(f, "k");
        var res = {};
        [0, 1, 2, 3].forEach(function (stage) {
          var v = zero_memory_bytes(psi, n, stage, k);
          res["stage" + stage] = [v, bytesText(v)];
        });
        return res;
      },
    },
    conv: {
      aliases: {size: "input_size"},  // conv2d_macs passes input_size on as `size`
      run: function (f) {
        var cin = valueOf(f, "in_channels"), cout = valueOf(f, "out_channels");
        var k = valueOf(f, "kernel_size", true), size = valueOf(f, "input_size", true);
        var s = valueOf(f, "stride", true), p = valueOf(f, "padding", true);
        var d = valueOf(f, "dilation", true), g = valueOf(f, "groups");
        var hw = conv2d_output_size(size, k, s, p, d);
        var params = conv2d_params(cin, cout, k, g, valueOf(f, "bias"));
        var macs = conv2d_macs(cin, cout, k, size, s, p, d, g);
        return {
          output_size: [hw.join(","), hw[0] + " × " + hw[1]],
          params: [params, countText(params)],
          macs: [macs, countText(macs)],
          flops: [2n * macs, countText(2n * macs)],  // FlopCounterMode: 2 FLOPs per MAC
        };
      },
    },
  };

  function clearErrors(form) {
    form.querySelectorAll(".hb-calc-error").forEach(function (el) {
      el.textContent = "";
      el.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function update(form) {
    var spec = FORMS[form.getAttribute("data-calc")];
    clearErrors(form);
    var results;
    try {
      results = spec.run(form);
    } catch (error) {
      if (!(error instanceof TypeError || error instanceof ValueError)) throw error;
      var field = fieldOf(error.message, spec.aliases);
      var slot = form.querySelector('.hb-calc-error[data-for="' + field + '"]') ||
        form.querySelector('.hb-calc-error[data-for=""]');
      slot.textContent = error.name + ": " + error.message;
      slot.hidden = false;
      if (form.elements[field] && form.elements[field].setAttribute) {
        form.elements[field].setAttribute("aria-invalid", "true");
      }
      form.querySelectorAll("[data-out]").forEach(function (out) {
        out.textContent = "—";
        out.setAttribute("data-value", "");
      });
      form.setAttribute("data-state", "error");
      return;
    }
    Object.keys(results).forEach(function (name) {
      setOut(form, name, results[name][0], results[name][1]);
    });
    form.setAttribute("data-state", "ok");
  }

  function applyPreset(form, name) {
    var values = (PRESETS[form.getAttribute("data-calc")] || {})[name];
    if (!values) return;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "preset") return;
      if (el.type === "checkbox") {
        el.checked = Boolean(values[el.name]);
      } else if (el.name in values) {
        el.value = String(values[el.name]);
      } else if (form.getAttribute("data-calc") === "params") {
        el.value = "";  // optional config fields fall back to LlamaConfig's defaults
      }
    });
  }

  function init() {
    document.querySelectorAll("form.hb-calc[data-calc]").forEach(function (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      form.addEventListener("input", function (event) {
        if (event.target.name !== "preset") form.elements.preset.value = "";
        update(form);
      });
      form.addEventListener("change", function (event) {
        if (event.target.name === "preset") applyPreset(form, event.target.value);
        update(form);
      });
      var preset = form.elements.preset;
      if (preset && preset.value) applyPreset(form, preset.value);
      update(form);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();

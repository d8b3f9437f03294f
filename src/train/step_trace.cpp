#include "train/step_trace.h"

// at::RecordFunction has a member that exists only without NDEBUG, and its
// accessors are inline: this file must be compiled as Debian's libtorch was
// (with NDEBUG), or inputs() and outputs() read the wrong offsets.
#ifndef NDEBUG
#error "train/step_trace.cpp must be compiled with NDEBUG, as libtorch was (at::RecordFunction's layout depends on it)"
#endif

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/record_function.h>
#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "train/torch_error.h"
#include "util/codec.h"

namespace cairn::train {
namespace {

using proof::OpValue;
using proof::TensorData;
using proof::ValueKind;

// ---- Deterministic memory while tracing ----
//
// Some recorded operators hand on memory nobody has written yet:
// aten::empty's output, or the tensor aten::bernoulli_ is about to fill.
// Hashed as it is, it would make two honest traces differ. While a trace
// (or a recompute) runs, every CPU allocation is zeroed, so such a tensor
// is all zeros everywhere; no honest result depends on it.
std::atomic<int> g_zeroing_scopes{0};

class ZeroingCpuAllocator final : public c10::Allocator {
 public:
  explicit ZeroingCpuAllocator(c10::Allocator* base) : base_(base) {}
  c10::DataPtr allocate(size_t bytes) const override {
    c10::DataPtr data = base_->allocate(bytes);
    if (bytes > 0 && data.get() != nullptr && g_zeroing_scopes.load(std::memory_order_relaxed) > 0) {
      std::memset(data.get(), 0, bytes);
    }
    return data;
  }
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }

 private:
  c10::Allocator* base_;
};

// Installed once, for the rest of the process (tensors it allocated may
// outlive any scope); outside a scope it only forwards.
class ZeroingScope {
 public:
  ZeroingScope() {
    static std::once_flag installed;
    std::call_once(installed, [] {
      static ZeroingCpuAllocator allocator(c10::GetCPUAllocator());
      c10::SetCPUAllocator(&allocator, /*priority=*/UINT8_MAX);
    });
    g_zeroing_scopes.fetch_add(1);
  }
  ~ZeroingScope() { g_zeroing_scopes.fetch_sub(1); }
  ZeroingScope(const ZeroingScope&) = delete;
  ZeroingScope& operator=(const ZeroingScope&) = delete;
};

// ---- The default generator ----

Bytes GeneratorBytes(const at::Generator& generator) {
  at::Generator gen = generator;
  at::Tensor state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    state = gen.get_state();
  }
  const auto* data = static_cast<const uint8_t*>(state.data_ptr());
  return Bytes(data, data + state.nbytes());
}

Bytes DefaultGeneratorState() { return GeneratorBytes(at::detail::getDefaultCPUGenerator()); }

at::Tensor StateTensor(ByteView state) {
  at::Tensor t = at::empty({static_cast<int64_t>(state.size)}, at::TensorOptions().dtype(at::kByte));
  if (state.size > 0) std::memcpy(t.data_ptr(), state.data, state.size);
  return t;
}

// Sets the default CPU generator's state for one recompute and puts the
// previous state back afterwards.
class DefaultGeneratorOverride {
 public:
  explicit DefaultGeneratorOverride(const ByteView* state) {
    if (state == nullptr) return;
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    saved_ = gen.get_state();
    gen.set_state(StateTensor(*state));
  }
  ~DefaultGeneratorOverride() {
    if (!saved_.defined()) return;
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(saved_);
  }

 private:
  at::Tensor saved_;
};

// ---- IValues as proof::OpValue ----

// Keeps alive what OpValue views point to while they are used.
struct Holder {
  std::deque<Bytes> bytes;
  std::vector<at::Tensor> tensors;
};

OpValue Opaque(std::string what) {
  OpValue v;
  v.kind = ValueKind::kOpaque;
  v.text = std::move(what);
  return v;
}

// The tensor as TensorData viewing its values (a row-major copy kept in
// `holder` when it is not contiguous), or the reason it cannot be.
std::optional<TensorData> TensorDataOf(const at::Tensor& t, Holder* holder, std::string* why) {
  TensorData d;
  if (!t.defined()) {
    d.defined = false;
    return d;
  }
  if (t.layout() != at::kStrided) {
    *why = "a tensor of layout " + c10::str(t.layout());
    return std::nullopt;
  }
  if (!t.device().is_cpu()) {
    *why = "a tensor on " + t.device().str();
    return std::nullopt;
  }
  if (t.is_quantized() || t.is_conj() || t.is_neg() || !t.unsafeGetTensorImpl()->has_storage()) {
    *why = "a quantized, conjugated, negated or storage-less tensor";
    return std::nullopt;
  }
  d.dtype = static_cast<uint8_t>(t.scalar_type());
  const size_t element_bytes = proof::ScalarCodeBytes(d.dtype);
  if (element_bytes == 0 || element_bytes != static_cast<size_t>(t.element_size())) {
    *why = std::string("a tensor of type ") + c10::toString(t.scalar_type());
    return std::nullopt;
  }
  if (t.dim() > static_cast<int64_t>(proof::kOpTensorRankMax)) {
    *why = "a tensor of rank " + std::to_string(t.dim());
    return std::nullopt;
  }
  d.sizes = t.sizes().vec();
  d.strides = t.strides().vec();
  d.wrapped_number = t.unsafeGetTensorImpl()->is_wrapped_number();
  const size_t bytes = static_cast<size_t>(t.numel()) * element_bytes;
  if (bytes == 0) return d;
  if (t.is_contiguous()) {
    d.values = ByteView(static_cast<const uint8_t*>(t.data_ptr()), bytes);
  } else {
    holder->tensors.push_back(t.contiguous());
    d.values = ByteView(static_cast<const uint8_t*>(holder->tensors.back().data_ptr()), bytes);
  }
  return d;
}

OpValue TensorValue(const at::Tensor& t, Holder* holder) {
  std::string why;
  auto d = TensorDataOf(t, holder, &why);
  if (!d) return Opaque(why);
  OpValue v;
  v.kind = ValueKind::kTensor;
  v.tensors.push_back(std::move(*d));
  return v;
}

// Tensor[] or Tensor?[] (undefined items for None).
OpValue TensorListValue(ValueKind kind, c10::ArrayRef<c10::IValue> items, Holder* holder) {
  OpValue v;
  v.kind = kind;
  for (const c10::IValue& item : items) {
    if (item.isNone()) {
      TensorData undefined;
      undefined.defined = false;
      v.tensors.push_back(undefined);
      continue;
    }
    std::string why;
    auto d = TensorDataOf(item.toTensor(), holder, &why);
    if (!d) return Opaque("a list holding " + why);
    v.tensors.push_back(std::move(*d));
  }
  return v;
}

OpValue ToOpValue(const c10::IValue& value, Holder* holder) {
  OpValue v;
  if (value.isNone()) return v;
  if (value.isTensor()) return TensorValue(value.toTensor(), holder);
  if (value.isBool()) {
    v.kind = ValueKind::kBool;
    v.boolean = value.toBool();
    return v;
  }
  if (value.isInt()) {
    v.kind = ValueKind::kInt;
    v.integer = value.toInt();
    return v;
  }
  if (value.isDouble()) {
    v.kind = ValueKind::kDouble;
    v.real = value.toDouble();
    return v;
  }
  if (value.isComplexDouble()) {
    v.kind = ValueKind::kComplex;
    const c10::complex<double> c = value.toComplexDouble();
    v.real = c.real();
    v.imaginary = c.imag();
    return v;
  }
  if (value.isString()) {
    v.kind = ValueKind::kString;
    v.text = value.toStringRef();
    if (v.text.size() > proof::kOpStringBytesMax) return Opaque("a string longer than cairn encodes");
    return v;
  }
  if (value.isDevice()) {
    v.kind = ValueKind::kDevice;
    v.device_type = static_cast<uint8_t>(value.toDevice().type());
    v.device_index = value.toDevice().index();
    return v;
  }
  if (value.isGenerator()) {
    v.kind = ValueKind::kGenerator;
    holder->bytes.push_back(GeneratorBytes(value.toGenerator()));
    v.generator_state = ByteView(holder->bytes.back());
    return v;
  }
  if (value.isIntList()) {
    v.kind = ValueKind::kIntList;
    v.integers = value.toIntVector();
    return v;
  }
  if (value.isDoubleList()) {
    v.kind = ValueKind::kDoubleList;
    v.reals = value.toDoubleVector();
    return v;
  }
  if (value.isBoolList()) {
    v.kind = ValueKind::kBoolList;
    for (bool b : value.toBoolList()) v.booleans.push_back(b);
    return v;
  }
  if (value.isTensorList()) return TensorListValue(ValueKind::kTensorList, value.toListRef(), holder);
  if (value.isList()) {
    c10::ArrayRef<c10::IValue> items = value.toListRef();
    bool optional_tensors = true;
    bool ints = true;
    for (const c10::IValue& item : items) {
      optional_tensors = optional_tensors && (item.isNone() || item.isTensor());
      ints = ints && item.isInt();
    }
    const bool typed_optional_tensors = value.toList().elementType()->isSubtypeOf(*c10::OptionalType::ofTensor());
    if (typed_optional_tensors && optional_tensors)
      return TensorListValue(ValueKind::kOptionalTensorList, items, holder);
    if (ints && !items.empty()) {
      v.kind = ValueKind::kIntList;
      for (const c10::IValue& item : items) v.integers.push_back(item.toInt());
      return v;
    }
    return Opaque("a list of " + value.toList().elementType()->repr_str());
  }
  return Opaque(value.tagKind());
}

// ---- OpValue as IValues (recompute) ----

Result<at::Tensor> TensorFrom(const TensorData& d) {
  if (!d.defined) return at::Tensor();
  at::Tensor t = at::empty_strided(d.sizes, d.strides, at::TensorOptions().dtype(static_cast<at::ScalarType>(d.dtype)));
  const Bytes memory = proof::ScatterToSpan(d);
  if (t.storage_offset() != 0 || t.storage().nbytes() < memory.size()) {
    return Internal("a recomputed tensor's storage does not fit its layout");
  }
  if (!memory.empty()) std::memcpy(t.data_ptr(), memory.data(), memory.size());
  if (d.wrapped_number) t.unsafeGetTensorImpl()->set_wrapped_number(true);
  return t;
}

Result<c10::IValue> ToIValue(const OpValue& v) {
  switch (v.kind) {
    case ValueKind::kNone:
      return c10::IValue();
    case ValueKind::kTensor: {
      CAIRN_ASSIGN_OR_RETURN(at::Tensor t, TensorFrom(v.tensors.at(0)));
      return c10::IValue(std::move(t));
    }
    case ValueKind::kTensorList: {
      c10::List<at::Tensor> list;
      for (const TensorData& d : v.tensors) {
        CAIRN_ASSIGN_OR_RETURN(at::Tensor t, TensorFrom(d));
        list.push_back(std::move(t));
      }
      return c10::IValue(std::move(list));
    }
    case ValueKind::kOptionalTensorList: {
      c10::List<c10::optional<at::Tensor>> list;
      for (const TensorData& d : v.tensors) {
        if (!d.defined) {
          list.push_back(c10::nullopt);
          continue;
        }
        CAIRN_ASSIGN_OR_RETURN(at::Tensor t, TensorFrom(d));
        list.push_back(std::move(t));
      }
      return c10::IValue(std::move(list));
    }
    case ValueKind::kBool:
      return c10::IValue(v.boolean);
    case ValueKind::kInt:
      return c10::IValue(v.integer);
    case ValueKind::kDouble:
      return c10::IValue(v.real);
    case ValueKind::kComplex:
      return c10::IValue(c10::complex<double>(v.real, v.imaginary));
    case ValueKind::kString:
      return c10::IValue(v.text);
    case ValueKind::kDevice:
      if (v.device_type != static_cast<uint8_t>(c10::DeviceType::CPU)) {
        return InvalidArgument("operators are recomputed on the CPU; the blob names device type " +
                               std::to_string(v.device_type));
      }
      return c10::IValue(c10::Device(c10::DeviceType::CPU, static_cast<c10::DeviceIndex>(v.device_index)));
    case ValueKind::kIntList:
      return c10::IValue(c10::List<int64_t>(c10::ArrayRef<int64_t>(v.integers)));
    case ValueKind::kDoubleList:
      return c10::IValue(c10::List<double>(c10::ArrayRef<double>(v.reals)));
    case ValueKind::kBoolList: {
      c10::List<bool> list;
      for (bool b : v.booleans) list.push_back(b);
      return c10::IValue(std::move(list));
    }
    case ValueKind::kGenerator: {
      at::Generator gen = at::detail::createCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(StateTensor(v.generator_state));
      return c10::IValue(gen);
    }
    case ValueKind::kOpaque:
      break;
  }
  return InvalidArgument("an argument cairn cannot recompute");
}

// Whether the schema argument takes this value.
bool Accepts(const c10::Argument& argument, const c10::IValue& value) {
  if (value.type()->isSubtypeOf(*argument.type())) return true;
  // A Scalar holding a bool is boxed as an IValue bool, which the type
  // system does not count as a number.
  c10::TypePtr type = argument.type();
  if (auto optional = type->cast<c10::OptionalType>()) type = optional->getElementType();
  return type->kind() == c10::TypeKind::NumberType && value.isBool();
}

// Arguments the operator writes to (`Tensor(a!)`, `Tensor(a!)[]`): their
// values after the call are outputs.
bool IsWritten(const c10::Argument& argument) {
  const c10::AliasInfo* alias = argument.alias_info();
  if (alias == nullptr) return false;
  if (alias->isWrite()) return true;
  for (const c10::AliasInfo& contained : alias->containedTypes()) {
    if (contained.isWrite()) return true;
  }
  return false;
}

// An operator whose only kernel for CPU tensors is its decomposition into
// other operators: the tracer records its callees instead (if it has any).
// An autograd kernel does not count: it only wraps what runs below it
// (aten::linear has one in 1.13, and below autograd its decomposition runs).
bool IsComposite(const c10::OperatorHandle& op) {
  using Key = c10::DispatchKey;
  return op.hasKernelForDispatchKey(Key::CompositeImplicitAutograd) && !op.hasKernelForDispatchKey(Key::CPU) &&
         !op.hasKernelForDispatchKey(Key::CompositeExplicitAutograd) &&
         !op.hasKernelForDispatchKey(Key::CompositeExplicitAutogradNonFunctional);
}

bool IsTensorKind(ValueKind kind) {
  return kind == ValueKind::kTensor || kind == ValueKind::kTensorList || kind == ValueKind::kOptionalTensorList;
}

// A record's outputs: the returns, then every tensor argument the operator
// wrote to, after the call: those the schema marks as written, and those
// whose values or layout changed although the schema does not say so (in
// libtorch 1.13 aten::native_batch_norm updates the running statistics
// behind an unannotated schema). `arguments` are the arguments (sharing
// their tensors) and `before` their descriptors at the call.
std::vector<proof::ValueDescriptor> DescribeOutputs(c10::ArrayRef<c10::IValue> returns,
                                                    const c10::FunctionSchema& schema,
                                                    c10::ArrayRef<c10::IValue> arguments,
                                                    const std::vector<proof::ValueDescriptor>& before) {
  CAIRN_ASSERT(arguments.size() == schema.arguments().size() && before.size() == arguments.size());
  Holder holder;
  std::vector<proof::ValueDescriptor> out;
  for (const c10::IValue& v : returns) out.push_back(proof::DescribeValue(ToOpValue(v, &holder)));
  for (size_t i = 0; i < arguments.size(); ++i) {
    if (!IsTensorKind(before[i].kind)) continue;
    // An absent tensor is not written (and a recompute passes it as None).
    if (before[i].kind == ValueKind::kTensor && !before[i].tensors[0].defined) continue;
    proof::ValueDescriptor after = proof::DescribeValue(ToOpValue(arguments[i], &holder));
    if (IsWritten(schema.arguments()[i]) || after != before[i]) out.push_back(std::move(after));
  }
  return out;
}

// Flips the lowest bit of the first element of the first defined,
// non-empty tensor among `values` (the cheat hook).
void CorruptFirstTensor(c10::ArrayRef<c10::IValue> values) {
  for (const c10::IValue& v : values) {
    if (!v.isTensor()) continue;
    const at::Tensor& t = v.toTensor();
    if (!t.defined() || t.numel() == 0 || !t.device().is_cpu() || t.layout() != at::kStrided) continue;
    static_cast<uint8_t*>(t.data_ptr())[0] ^= 1;
    return;
  }
}

}  // namespace

// ---- The tracer ----

class StepTracer::Impl {
 public:
  explicit Impl(TraceOptions options) : options_(std::move(options)) {}

  ~Impl() {
    if (active_) End();
  }

  void Begin(uint64_t step, const NamedTensors& step_inputs) {
    CAIRN_ASSERT(!active_);
    CAIRN_ASSERT(ActiveTracer() == nullptr);
    step_ = step;
    status_ = Status::Ok();
    records_.clear();
    step_inputs_.clear();
    count_ = 0;
    open_ = nullptr;
    captured_ = NotFound("the step has no operator " +
                         (options_.capture_inputs_of ? std::to_string(*options_.capture_inputs_of) : std::string("")));
    capture_pending_.reset();
    corrupt_ = options_.corrupt_output_of ? options_.corrupt_output_of(step) : std::nullopt;
    zeroing_.emplace();
    if (options_.describe) {
      at::DisableRecordFunctionGuard no_recursion;
      Holder holder;
      for (const auto& [name, tensor] : step_inputs) {
        OpValue v = TensorValue(tensor, &holder);
        if (v.kind != ValueKind::kTensor) {
          Fail("step input " + name + " is " + v.text);
          continue;
        }
        step_inputs_.push_back({name, proof::DescribeTensor(v.tensors[0])});
      }
      generator_ = DefaultGeneratorState();
    }
    thread_ = std::this_thread::get_id();
    ActiveTracer() = this;
    active_ = true;
    handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(&OnStart, &OnEnd)
                                             .needsInputs(options_.describe)
                                             .needsOutputs(true)
                                             .scopes({at::RecordScope::FUNCTION}));
  }

  void End() {
    if (!active_) return;
    at::removeCallback(handle_);
    active_ = false;
    ActiveTracer() = nullptr;
    if (open_ != nullptr) Fail("an operator was still running when the step ended");
    open_ = nullptr;
    if (options_.describe && status_.ok()) {
      at::DisableRecordFunctionGuard no_recursion;
      if (DefaultGeneratorState() != generator_) Fail("the step drew random numbers after its last operator");
    }
    zeroing_.reset();
  }

  const Status& status() const { return status_; }
  std::vector<proof::OpRecord> TakeRecords() { return std::move(records_); }
  std::vector<proof::NamedTensorDescriptor> TakeStepInputs() { return std::move(step_inputs_); }
  Result<Bytes> TakeCapturedInputs() { return std::move(captured_); }
  uint64_t records() const { return count_; }

 private:
  // A record in the making, owned by its at::RecordFunction.
  struct Frame : at::ObserverContext {
    uint64_t index = 0;
    bool composite = false;
    size_t returns = 0;  // The schema's; a boxed call's outputs are the whole stack, returns on top.
    const c10::FunctionSchema* schema = nullptr;
    std::vector<c10::IValue> arguments;  // As the call got them (sharing their tensors).
    std::vector<c10::IValue> written;    // Arguments the schema marks as written.
    Bytes generator_before;
  };

  static Impl*& ActiveTracer() {
    static thread_local Impl* active = nullptr;
    return active;
  }

  static std::unique_ptr<at::ObserverContext> OnStart(const at::RecordFunction& fn) {
    Impl* self = ActiveTracer();
    if (self == nullptr || !self->active_ || std::this_thread::get_id() != self->thread_) return nullptr;
    // Inside a parallel region the call is part of an operator already recorded.
    if (at::in_parallel_region()) return nullptr;
    auto name = fn.operator_name();
    if (!name) return nullptr;                    // A named range, not an operator.
    at::DisableRecordFunctionGuard no_recursion;  // The tracer's own tensor work is not traced.
    try {
      return self->Start(fn, *name);
    } catch (const std::exception& e) {
      self->Fail("tracing " + name->name + ": " + TorchErrorText(e));
      return nullptr;
    }
  }

  static void OnEnd(const at::RecordFunction& fn, at::ObserverContext* context) {
    Impl* self = ActiveTracer();
    if (self == nullptr || context == nullptr) return;
    auto* frame = static_cast<Frame*>(context);
    if (frame != self->open_) return;  // A composite that gave way to its callees.
    self->open_ = nullptr;
    if (!self->active_) return;
    at::DisableRecordFunctionGuard no_recursion;
    try {
      self->Finish(fn, frame);
    } catch (const std::exception& e) {
      self->Fail("tracing the outputs of record " + std::to_string(frame->index) + ": " + TorchErrorText(e));
    }
  }

  std::unique_ptr<at::ObserverContext> Start(const at::RecordFunction& fn, const c10::OperatorName& name) {
    auto op = c10::Dispatcher::singleton().findOp(name);
    if (!op) return nullptr;
    if (open_ != nullptr) {
      if (!open_->composite) return nullptr;  // Absorbed: part of the open record.
      // The open record only decomposes: its callees are recorded instead.
      if (options_.describe) records_.pop_back();
      if (capture_pending_ && capture_pending_->first == open_->index) capture_pending_.reset();
      count_--;
      open_ = nullptr;
    }
    const c10::FunctionSchema& schema = op->schema();
    const size_t arity = schema.arguments().size();
    auto frame = std::make_unique<Frame>();
    frame->index = count_;
    frame->composite = IsComposite(*op);
    frame->returns = schema.returns().size();
    frame->schema = &schema;
    if (options_.describe) {
      c10::ArrayRef<const c10::IValue> all = fn.inputs();
      if (all.size() < arity) {
        Fail(name.name + " gave the tracer " + std::to_string(all.size()) + " arguments for a schema of " +
             std::to_string(arity));
        return nullptr;
      }
      c10::ArrayRef<const c10::IValue> args = all.slice(all.size() - arity);
      proof::OpRecord record;
      record.op = name.name;
      record.overload = name.overload_name;
      Holder holder;
      proof::OpInputs inputs;
      for (size_t i = 0; i < arity; ++i) {
        inputs.values.push_back(ToOpValue(args[i], &holder));
        record.inputs.push_back(proof::DescribeValue(inputs.values.back()));
        if (IsWritten(schema.arguments()[i])) frame->written.push_back(args[i]);
        frame->arguments.push_back(args[i]);
      }
      frame->generator_before = DefaultGeneratorState();
      if (frame->generator_before != generator_) {
        Fail("the step drew random numbers outside any operator (before record " + std::to_string(frame->index) + ", " +
             name.name + ")");
      }
      if (options_.capture_inputs_of == frame->index) {
        inputs.op = record.op;
        inputs.overload = record.overload;
        // Whether the operator draws from the generator is known when it
        // returns; the blob's last field says so (Finish rewrites it).
        inputs.has_generator_state = false;
        capture_pending_.emplace(frame->index, proof::EncodeOpInputs(inputs));
      }
      records_.push_back(std::move(record));
    }
    count_++;
    open_ = frame.get();
    return frame;
  }

  void Finish(const at::RecordFunction& fn, Frame* frame) {
    // A boxed call (the TorchScript interpreter's) reports its whole stack
    // as outputs: the returns are the top `returns` values.
    c10::ArrayRef<c10::IValue> outputs = fn.outputs();
    if (outputs.size() < frame->returns) {
      Fail("record " + std::to_string(frame->index) + " returned " + std::to_string(outputs.size()) +
           " values for a schema of " + std::to_string(frame->returns));
      return;
    }
    c10::ArrayRef<c10::IValue> returns = outputs.slice(outputs.size() - frame->returns);
    if (corrupt_ == frame->index) {
      CorruptFirstTensor(returns);
      if (returns.empty()) CorruptFirstTensor(frame->written);
    }
    if (!options_.describe) return;
    CAIRN_ASSERT(!records_.empty() && frame->index + 1 == records_.size());
    proof::OpRecord& record = records_.back();
    record.outputs = DescribeOutputs(returns, *frame->schema, frame->arguments, record.inputs);
    Bytes generator_after = DefaultGeneratorState();
    const bool drew = generator_after != frame->generator_before;
    if (drew) record.generator_state = proof::GeneratorStateHash(frame->generator_before);
    generator_ = std::move(generator_after);
    if (capture_pending_ && capture_pending_->first == frame->index) {
      Result<Bytes> blob = std::move(capture_pending_->second);
      capture_pending_.reset();
      if (blob.ok() && drew) {
        // The encoding ends with bool has_generator_state (false): replace
        // it with true and the length-prefixed state.
        CAIRN_ASSERT(!blob->empty() && blob->back() == 0);
        util::Writer trailer;
        trailer.Bool(true);
        trailer.LengthPrefixed(frame->generator_before);
        blob->pop_back();
        blob->insert(blob->end(), trailer.bytes().begin(), trailer.bytes().end());
      }
      captured_ = std::move(blob);
    }
  }

  void Fail(std::string why) {
    if (status_.ok()) status_ = FailedPrecondition("step " + std::to_string(step_) + " cannot be traced: " + why);
  }

  TraceOptions options_;
  bool active_ = false;
  std::thread::id thread_;
  at::CallbackHandle handle_ = 0;
  std::optional<ZeroingScope> zeroing_;
  uint64_t step_ = 0;
  std::optional<uint64_t> corrupt_;
  Status status_;
  std::vector<proof::NamedTensorDescriptor> step_inputs_;
  std::vector<proof::OpRecord> records_;  // When describing.
  uint64_t count_ = 0;                    // Records so far, the open one included.
  Frame* open_ = nullptr;                 // The open record, if any.
  Bytes generator_;                       // The default generator's state after the last record.
  std::optional<std::pair<uint64_t, Result<Bytes>>> capture_pending_;
  Result<Bytes> captured_ = NotFound("no step was traced");
};

StepTracer::StepTracer(TraceOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
StepTracer::~StepTracer() = default;
void StepTracer::BeginStep(uint64_t step, const NamedTensors& step_inputs) { impl_->Begin(step, step_inputs); }
void StepTracer::EndStep() { impl_->End(); }
const Status& StepTracer::status() const { return impl_->status(); }
std::vector<proof::OpRecord> StepTracer::TakeRecords() { return impl_->TakeRecords(); }
std::vector<proof::NamedTensorDescriptor> StepTracer::TakeStepInputs() { return impl_->TakeStepInputs(); }
Result<Bytes> StepTracer::TakeCapturedInputs() { return impl_->TakeCapturedInputs(); }
uint64_t StepTracer::records() const { return impl_->records(); }

// ---- Recompute ----

Result<Hash256> RecomputeOpHere(const proof::OpRecord& record, ByteView blob) {
  const std::string name = proof::OpDisplayName(record);
  return GuardTorch("recomputing " + name, [&]() -> Result<Hash256> {
    auto decoded = proof::DecodeOpInputs(blob);
    if (!decoded.ok())
      return InvalidArgument("the input blob of " + name + " does not decode: " + decoded.status().message());
    const proof::OpInputs& inputs = *decoded;
    CAIRN_RETURN_IF_ERROR(proof::CheckOpInputs(record, inputs));
    auto op = c10::Dispatcher::singleton().findSchema({record.op, record.overload});
    if (!op) return InvalidArgument("unknown operator " + name);
    const c10::FunctionSchema& schema = op->schema();
    if (schema.is_vararg() || schema.is_varret()) return InvalidArgument(name + " takes or returns varargs");
    if (schema.arguments().size() != inputs.values.size()) {
      return InvalidArgument(name + " takes " + std::to_string(schema.arguments().size()) +
                             " arguments, the blob holds " + std::to_string(inputs.values.size()));
    }
    ZeroingScope zeroing;
    std::vector<c10::IValue> stack;
    for (size_t i = 0; i < inputs.values.size(); ++i) {
      CAIRN_ASSIGN_OR_RETURN(c10::IValue value, ToIValue(inputs.values[i]));
      const c10::Argument& argument = schema.arguments()[i];
      // ATen passes an absent optional tensor as an undefined one; boxed,
      // it must be None.
      if (value.isTensor() && !value.toTensor().defined() && argument.type()->cast<c10::OptionalType>()) {
        value = c10::IValue();
      }
      if (!Accepts(argument, value)) {
        return InvalidArgument("argument " + std::to_string(i) + " (" + argument.name() + ") of " + name + " is " +
                               argument.type()->repr_str() + ", the blob holds " + value.type()->repr_str());
      }
      stack.push_back(std::move(value));
    }
    const std::vector<c10::IValue> arguments = stack;  // Sharing the tensors the call may write.
    torch::NoGradGuard no_grad;
    {
      DefaultGeneratorOverride generator(inputs.has_generator_state ? &inputs.generator_state : nullptr);
      op->callBoxed(&stack);
    }
    return proof::OutputHash(DescribeOutputs(stack, schema, arguments, record.inputs));
  });
}

}  // namespace cairn::train

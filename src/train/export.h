// Exporting a trained model back to PyTorch (`cairn export`; formats in
// docs/export.md). Torch-free interface: libtorch stays inside
// train/export.cpp.
#pragma once

#include <string>

#include "cairn/bytes.h"
#include "cairn/status.h"
#include "data/dataset.h"
#include "job/spec.h"

namespace cairn::train {

inline constexpr char kExportTorchScriptFile[] = "model.pt";
inline constexpr char kExportStateDictFile[] = "state_dict.pt";

struct ExportedModel {
  // A TorchScript module in evaluation mode (torch.jit.load); forward(x)
  // computes the logits cairn's model computes, bit for bit on the same
  // machine and thread count.
  Bytes torchscript;
  // torch.save's zip format holding a dict of name -> tensor: every
  // parameter (trainable or frozen) and buffer under its PyTorch name, with
  // its dtype; torch.load(path, weights_only=True) reads it.
  Bytes state_dict;
  size_t tensors = 0;
};

// Builds the model of `spec` for examples shaped like `train_shape_source`,
// loads `model_file` (a cairn model file of this job) and exports it. A
// TorchScript job exports its own module (loaded from the bytes the job's
// hash names) with the trained state copied in. A built-in model becomes a
// TorchScript module with the same parameter and buffer names whose forward
// is written out op for op as models.cpp computes it; before returning, it is
// run next to the native model on examples of `train_shape_source` and must
// give bit-identical logits. A model file that does not fit the job is
// InvalidArgument.
Result<ExportedModel> ExportModelFile(const job::JobSpec& spec, ByteView model_file,
                                      const data::Dataset& train_shape_source);

}  // namespace cairn::train

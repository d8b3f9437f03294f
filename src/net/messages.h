// Domain structs <-> generated protobuf messages (net/ only).
#pragma once

#include <string>

#include "cairn/v1/ledger.pb.h"
#include "ledger/types.h"

namespace cairn::net {

void ToProto(const ledger::Job& job, ::cairn::v1::Job* out);
void ToProto(const ledger::Account& account, const std::string& endpoint, ::cairn::v1::Account* out);
// Checks every field's size and the status name.
Result<ledger::Job> FromProto(const ::cairn::v1::Job& in);
ledger::Account FromProto(const ::cairn::v1::Account& in);

}  // namespace cairn::net

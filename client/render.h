// Text rendering of schemad responses for people: aligned tables, the plan
// with hazards marked, colour when writing to a terminal.
#ifndef SCHEMAD_CLIENT_RENDER_H_
#define SCHEMAD_CLIENT_RENDER_H_

#include <string>

#include "schemad/v1/schema_service.pb.h"

namespace schemad::client {

struct Style {
  bool color = false;
};

std::string RenderStatus(const v1::StatusResponse& r, const Style& style);
std::string RenderDiff(const v1::DiffResponse& r, const Style& style);
// The plan as a reviewable SQL script, hazards as comments.
std::string RenderPlanSql(const v1::Plan& plan);
std::string RenderInitialize(const v1::InitializeResponse& r, const Style& style);
std::string RenderRegistryInfo(const v1::RegistryInfo& r);
std::string RenderPublish(const v1::PublishRegistryResponse& r, const Style& style);
std::string RenderRegistries(const v1::ListRegistriesResponse& r, const Style& style);
std::string RenderHistory(const v1::HistoryResponse& r, const Style& style);
// One run with the SQL that ran.
std::string RenderHistoryEntry(const v1::HistoryEntry& e, const Style& style);
// One line (no newline) describing a progress event of InitializeStream.
std::string RenderEvent(const v1::InitializeEvent& e);

}  // namespace schemad::client

#endif  // SCHEMAD_CLIENT_RENDER_H_

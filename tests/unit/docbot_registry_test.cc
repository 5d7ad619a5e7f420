// The embedded docbot registry against the reference SQLAlchemy models
// (tests/parity/docbot_models.py). The expected names below are
// derived from the models' naming convention, not copied from
// deploy/registry/docbot:
//   ix: ix_<table>_<col0>_<col1>...   (index=True, or the explicit name)
//   uq: uq_<table>_<col0>_<col1>...
//   ck: ck_<table>_<constraint name>
//   fk: fk_<table>_<col0>_<referred table>
//   pk: pk_<table>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "schemad/registry/registry.h"

namespace schemad {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

struct ExpectedTable {
  std::set<std::string> constraints;
  std::set<std::string> indexes;
};

TEST(EmbeddedRegistryTest, DocbotRegistryMatchesReferenceModels) {
  absl::StatusOr<Registry> r = LoadEmbeddedRegistry();
  ASSERT_TRUE(r.ok()) << r.status();
  const Schema& schema = r->schema;

  const std::map<std::string, ExpectedTable> expected = {
      {"users",
       {.constraints = {"pk_users"},  //
        .indexes = {"ix_users_email_lower"}}},
      {"documents",
       {.constraints = {"pk_documents", "fk_documents_owner_id_users",
                        "uq_documents_owner_id_sha256", "ck_documents_size_nonnegative"},
        .indexes = {"ix_documents_owner_id", "ix_documents_in_progress"}}},
      {"pages",
       {.constraints = {"pk_pages", "fk_pages_document_id_documents",
                        "uq_pages_document_id_page_number", "ck_pages_page_number_positive"},
        .indexes = {}}},
      {"chunks",
       {.constraints = {"pk_chunks", "fk_chunks_document_id_documents", "fk_chunks_page_id_pages",
                        "uq_chunks_document_id_chunk_index"},
        .indexes = {"ix_chunks_document_id", "ix_chunks_content_tsv"}}},
      {"figures",
       {.constraints = {"pk_figures", "fk_figures_document_id_documents",
                        "fk_figures_page_id_pages"},
        .indexes = {"ix_figures_document_id"}}},
      {"tables",
       {.constraints = {"pk_tables", "fk_tables_document_id_documents", "fk_tables_page_id_pages"},
        .indexes = {"ix_tables_document_id"}}},
      {"text_embeddings",
       {.constraints = {"pk_text_embeddings", "fk_text_embeddings_chunk_id_chunks",
                        "uq_text_embeddings_chunk_id_model", "ck_text_embeddings_dim_matches"},
        .indexes = {}}},
      {"image_embeddings",
       {.constraints = {"pk_image_embeddings", "fk_image_embeddings_figure_id_figures",
                        "uq_image_embeddings_figure_id_model", "ck_image_embeddings_dim_matches"},
        .indexes = {}}},
      {"table_embeddings",
       {.constraints = {"pk_table_embeddings", "fk_table_embeddings_table_id_tables",
                        "uq_table_embeddings_table_id_model", "ck_table_embeddings_dim_matches"},
        .indexes = {}}},
      {"chats",
       {.constraints = {"pk_chats", "fk_chats_user_id_users"},  //
        .indexes = {"ix_chats_user_id"}}},
      {"messages",
       {.constraints = {"pk_messages", "fk_messages_chat_id_chats"},
        .indexes = {"ix_messages_chat_id_created_at"}}},
      {"tool_runs",
       {.constraints = {"pk_tool_runs", "fk_tool_runs_message_id_messages",
                        "ck_tool_runs_duration_nonnegative"},
        .indexes = {"ix_tool_runs_message_id"}}},
  };

  // Tables: exactly these 12.
  std::set<std::string> table_names;
  for (const Table& table : schema.tables) table_names.insert(table.name);
  std::set<std::string> expected_table_names;
  for (const auto& [name, unused] : expected) expected_table_names.insert(name);
  EXPECT_EQ(schema.tables.size(), 12u);
  EXPECT_EQ(table_names, expected_table_names);

  // Constraint and index names per table.
  for (const auto& [name, want] : expected) {
    SCOPED_TRACE(name);
    const Table* table = schema.FindTable(name);
    ASSERT_NE(table, nullptr);
    std::set<std::string> constraints;
    for (const Constraint& c : table->constraints) constraints.insert(c.name);
    std::set<std::string> indexes;
    for (const Index& i : table->indexes) indexes.insert(i.name);
    EXPECT_EQ(constraints, want.constraints);
    EXPECT_EQ(indexes, want.indexes);
  }

  // Enums: exactly these 4 (the schema keeps them sorted by name), labels in
  // the models' order.
  std::vector<std::pair<std::string, std::vector<std::string>>> enums;
  for (const EnumType& e : schema.enums) enums.emplace_back(e.name, e.labels);
  const std::vector<std::pair<std::string, std::vector<std::string>>> expected_enums = {
      {"document_status", {"pending", "processing", "ready", "failed"}},
      {"message_role", {"system", "user", "assistant", "tool"}},
      {"tool_run_status", {"running", "succeeded", "failed"}},
      {"user_role", {"user", "admin"}},
  };
  EXPECT_EQ(enums, expected_enums);

  // `meta = sa.Column("metadata", ...)`: the column is named metadata.
  const Table* documents = schema.FindTable("documents");
  ASSERT_NE(documents, nullptr);
  EXPECT_NE(documents->FindColumn("metadata"), nullptr);
  EXPECT_EQ(documents->FindColumn("meta"), nullptr);

  // content_tsv is a stored generated column (sa.Computed(persisted=True)).
  const Table* chunks = schema.FindTable("chunks");
  ASSERT_NE(chunks, nullptr);
  const Column* content_tsv = chunks->FindColumn("content_tsv");
  ASSERT_NE(content_tsv, nullptr);
  EXPECT_THAT(content_tsv->generated, HasSubstr("to_tsvector"));

  EXPECT_THAT(schema.ignore, Contains("alembic_version"));
}

}  // namespace
}  // namespace schemad

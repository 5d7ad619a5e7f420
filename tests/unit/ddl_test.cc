// The DDL composer (src/ddl): how constraints, indexes and referential
// actions are written as SQL, linked with the ddl module alone.
#include "schemad/ddl/ddl.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace schemad {
namespace {

TEST(DdlTest, ForeignKeysSpellEveryActionOnceAndOmitNoAction) {
  Constraint fk{.name = "fk_items_owner",
                .kind = ConstraintKind::kForeignKey,
                .columns = {"owner_id"},
                .ref_table = "Owners",
                .ref_columns = {"id"}};
  EXPECT_EQ(ConstraintDefinition(fk), "FOREIGN KEY (owner_id) REFERENCES \"Owners\"(id)");
  const std::pair<ReferentialAction, const char*> actions[] = {
      {ReferentialAction::kRestrict, "RESTRICT"},
      {ReferentialAction::kCascade, "CASCADE"},
      {ReferentialAction::kSetNull, "SET NULL"},
      {ReferentialAction::kSetDefault, "SET DEFAULT"},
  };
  for (const auto& [action, sql] : actions) {
    EXPECT_EQ(ReferentialActionSql(action), std::string(sql));
    fk.on_delete = action;
    fk.on_update = ReferentialAction::kNoAction;
    EXPECT_EQ(ConstraintDefinition(fk),
              std::string("FOREIGN KEY (owner_id) REFERENCES \"Owners\"(id) ON DELETE ") + sql);
  }
  fk.on_update = ReferentialAction::kCascade;
  fk.on_delete = ReferentialAction::kSetNull;
  fk.delete_set_columns = {"owner_id"};
  fk.ref_schema = "billing";
  fk.match_full = true;
  EXPECT_EQ(ConstraintDefinition(fk),
            "FOREIGN KEY (owner_id) REFERENCES billing.\"Owners\"(id) MATCH FULL ON UPDATE "
            "CASCADE ON DELETE SET NULL (owner_id)");
}

TEST(DdlTest, CatalogCodesMapToTheActions) {
  EXPECT_EQ(ReferentialActionFromCode('a'), ReferentialAction::kNoAction);
  EXPECT_EQ(ReferentialActionFromCode('r'), ReferentialAction::kRestrict);
  EXPECT_EQ(ReferentialActionFromCode('c'), ReferentialAction::kCascade);
  EXPECT_EQ(ReferentialActionFromCode('n'), ReferentialAction::kSetNull);
  EXPECT_EQ(ReferentialActionFromCode('d'), ReferentialAction::kSetDefault);
}

TEST(DdlTest, KeysQuoteTheirColumnsAndCarryIncludeAndStorage) {
  Constraint pk{.name = "pk", .kind = ConstraintKind::kPrimaryKey, .columns = {"id", "Tenant"}};
  EXPECT_EQ(ConstraintDefinition(pk), "PRIMARY KEY (id, \"Tenant\")");
  Constraint unique{.name = "uq",
                    .kind = ConstraintKind::kUnique,
                    .columns = {"code"},
                    .nulls_not_distinct = true};
  unique.include = {"note"};
  unique.storage = {"fillfactor=70"};
  EXPECT_EQ(ConstraintDefinition(unique),
            "UNIQUE NULLS NOT DISTINCT (code) INCLUDE (note) WITH (fillfactor=70)");
}

}  // namespace
}  // namespace schemad

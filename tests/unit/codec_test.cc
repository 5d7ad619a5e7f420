// The model codec: every field survives a round trip; other versions,
// truncation and corruption are refused, never misread.
#include "schemad/model/codec.h"

#include "gtest/gtest.h"
#include "schemad/registry/registry.h"

namespace schemad {
namespace {

// A schema where every field of every struct differs from its default.
Schema EveryField() {
  Schema s;
  s.name = "app";
  s.exists = false;
  s.ignore = {"alembic_*"};
  Column c{"id",
           "bigint",
           "\"C\"",
           true,
           "nextval('s')",
           Identity::kByDefault,
           IdentityOptions{5, -10, 1000, 7, 3, true},
           "a + 1",
           "t_id_seq",
           "id::bigint",
           "the id",
           true,
           "t.textproto:3:5",
           "main",
           "lz4",
           500,
           {"n_distinct=100"},
           "extended"};
  Constraint k;
  k.name = "fk";
  k.kind = ConstraintKind::kForeignKey;
  k.columns = {"a", "b"};
  k.definition = "FOREIGN KEY (a, b) REFERENCES u(x, y)";
  k.validated = false;
  k.ref_table = "u";
  k.ref_schema = "other";
  k.ref_columns = {"x", "y"};
  k.on_delete = ReferentialAction::kCascade;
  k.on_update = ReferentialAction::kSetNull;
  k.deferrable = k.initially_deferred = k.nulls_not_distinct = k.no_inherit = true;
  k.check_expr = "a > 0";
  k.source = "t.textproto:9:3";
  k.comment = "fk comment";
  k.include = {"c"};
  k.storage = {"fillfactor=80"};
  k.match_full = true;
  k.delete_set_columns = {"a"};
  k.exclusion = "EXCLUDE USING gist (a WITH =)";
  Index i;
  i.name = "ix";
  i.unique = true;
  i.method = "gin";
  i.keys = {{"a", "", "text_pattern_ops", true, IndexKey::Nulls::kLast, "\"C\""},
            {"", "lower(b)", "", false, IndexKey::Nulls::kFirst}};
  i.nulls_not_distinct = true;
  i.storage = {"fillfactor=60"};
  i.include = {"c"};
  i.predicate = "a IS NOT NULL";
  i.definition = "CREATE INDEX ix ...";
  i.valid = false;
  i.columns = {"a", "b", "c"};
  i.source = "t.textproto:12:3";
  i.comment = "ix comment";
  Trigger tr;
  tr.name = "tr";
  tr.table = "t";
  tr.definition = "CREATE TRIGGER tr ...";
  tr.constraint = tr.deferrable = tr.initially_deferred = tr.for_each_row = true;
  tr.enabled = TriggerEnabled::kReplica;
  tr.comment = "tr comment";
  tr.timing = TriggerTiming::kInsteadOf;
  tr.events = {"INSERT", "UPDATE"};
  tr.update_columns = {"a"};
  tr.when = "NEW.a <> OLD.a";
  tr.function = "audit";
  tr.arguments = {"x", "y"};
  tr.depends_on = {"function:audit()"};
  tr.old_table = "gone";
  tr.new_table = "fresh";
  tr.source = "t.textproto:20:3";
  s.tables.push_back({"t",
                      {c},
                      {k},
                      {i},
                      {tr},
                      "table comment",
                      true,
                      true,
                      true,
                      {"fillfactor=70"},
                      ReplicaIdentity::kUsingIndex,
                      "ix",
                      "t.textproto:1:1"});
  s.enums.push_back({"mood", {"sad", "ok"}, "e.textproto:1:1", "enum comment"});
  s.extensions.push_back({"citext", "extensions", "r.textproto:2:1"});
  Sequence q;
  q.name = "seq";
  q.type = "integer";
  q.increment = -2;
  q.min_value = -100;
  q.max_value = INT64_MAX;
  q.start = INT64_MIN;
  q.cache = 5;
  q.cycle = true;
  q.owned_by_table = "t";
  q.owned_by_column = "id";
  q.source = "r.textproto:5:1";
  q.comment = "seq comment";
  s.sequences.push_back(q);
  View v;
  v.name = "v";
  v.materialized = v.security_invoker = v.security_barrier = true;
  v.query = "SELECT 1";
  v.check_option = CheckOption::kCascaded;
  v.comment = "view comment";
  v.storage = {"autovacuum_enabled=false", "fillfactor=50"};
  v.indexes = {i};
  v.columns = {c};
  v.depends_on = {"t", "t.id"};
  v.source = "v.sql:1:1";
  v.triggers = {tr};
  s.views.push_back(v);
  Function f;
  f.name = "f";
  f.arguments = "a integer DEFAULT 1";
  f.identity = "a integer";
  f.returns = "SETOF t";
  f.language = "plpgsql";
  f.body = "BEGIN RETURN; END";
  f.sql_body = f.strict = f.security_definer = f.procedure = true;
  f.volatility = Volatility::kImmutable;
  f.parallel = ParallelSafety::kRestricted;
  f.config = {"search_path = pg_catalog"};
  f.comment = "fn comment";
  f.leakproof = true;
  f.cost = 0.5;
  f.rows = 12;
  f.source = "f.sql:1:1";
  s.functions.push_back(f);
  s.unmanaged.push_back({UnmanagedKind::kPolicy, "p", "t"});
  return s;
}

TEST(CodecTest, EveryFieldSurvivesARoundTrip) {
  const Schema s = EveryField();
  const std::string bytes = EncodeSchema(s);
  absl::StatusOr<Schema> back = DecodeSchema(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(EncodeSchema(*back), bytes);
  EXPECT_EQ(SerializeForFingerprint(*back), SerializeForFingerprint(s));
  // Spot checks of fields the fingerprint leaves out.
  EXPECT_EQ(back->tables[0].columns[0].source, "t.textproto:3:5");
  EXPECT_EQ(back->tables[0].columns[0].identity_options.start, 7);
  EXPECT_TRUE(back->tables[0].columns[0].identity_options.cycle);
  EXPECT_EQ(back->tables[0].columns[0].identity_options.start, 7);
  EXPECT_TRUE(back->tables[0].columns[0].identity_options.cycle);
  EXPECT_EQ(back->sequences[0].start, INT64_MIN);
  EXPECT_EQ(back->sequences[0].increment, -2);
  EXPECT_EQ(back->views[0].indexes[0].keys[1].nulls, IndexKey::Nulls::kFirst);
  EXPECT_EQ(back->functions[0].parallel, ParallelSafety::kRestricted);
  EXPECT_FALSE(back->exists);
  // And a registry's model: the embedded docbot one.
  absl::StatusOr<Registry> docbot = LoadEmbeddedRegistry();
  ASSERT_TRUE(docbot.ok());
  absl::StatusOr<Schema> again = DecodeSchema(EncodeSchema(docbot->schema));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(SerializeForFingerprint(*again), SerializeForFingerprint(docbot->schema));
  EXPECT_EQ(EncodeSchema(*again), EncodeSchema(docbot->schema));
}

TEST(CodecTest, TruncatedCorruptAndForeignEncodingsAreRefused) {
  const std::string bytes = EncodeSchema(EveryField());
  for (size_t cut : {size_t{0}, size_t{5}, bytes.size() / 2, bytes.size() - 1}) {
    EXPECT_FALSE(DecodeSchema(bytes.substr(0, cut)).ok()) << cut;
  }
  EXPECT_FALSE(DecodeSchema(bytes + "x").ok());
  std::string other_version = bytes;
  other_version[14] = static_cast<char>(other_version[14] + 2);  // the version varint
  EXPECT_FALSE(DecodeSchema(other_version).ok());
  // A huge count does not allocate its way to a crash.
  std::string huge = bytes.substr(0, 16);
  huge += std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8);
  EXPECT_FALSE(DecodeSchema(huge).ok());
  EXPECT_FALSE(DecodeSchema("not a model at all").ok());
}

}  // namespace
}  // namespace schemad

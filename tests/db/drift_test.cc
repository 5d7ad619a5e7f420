// Drift acceptance cases: {registry, drift made in the database, expected
// differences, expected hazards, expected DDL}. Each case starts from a
// database brought to the base registry by Initialize, makes the drift with
// plain SQL, and then asserts:
//   1. Diff reports exactly the expected differences;
//   2. the plan carries exactly the expected hazard kinds (and, where given,
//      exactly the expected statements);
//   3. a default Initialize runs only hazard-free steps and ends APPLIED when
//      nothing hazardous was needed, PARTIAL otherwise;
//   4. Initialize with every hazard accepted brings the diff back to empty.
#include "testing/drift.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using testing::DriftCase;
using testing::RunDriftCase;

constexpr char kBaseRegistry[] = R"pb(
registry {
  schema: "public"
  enum { name: "item_status" label: "new" label: "active" label: "done" }
  ignore: "alembic_version"
}
table {
  name: "owners"
  column { name: "id" type: "uuid" not_null: true default: "gen_random_uuid()" }
  column { name: "email" type: "character varying(200)" not_null: true }
  column { name: "name" type: "text" not_null: true }
  column { name: "token" type: "uuid" not_null: true default: "gen_random_uuid()" }
  column { name: "created_at" type: "timestamp with time zone" not_null: true default: "now()" }
  primary_key { name: "pk_owners" column: "id" }
  index { name: "ix_owners_email_lower" unique: true key { expression: "lower(email)" } }
}
table {
  name: "items"
  column { name: "id" type: "bigserial" not_null: true }
  column { name: "owner_id" type: "uuid" not_null: true }
  column { name: "title" type: "character varying(100)" not_null: true }
  column { name: "status" type: "item_status" not_null: true default: "'new'" }
  column { name: "price" type: "numeric(10,2)" }
  column { name: "views" type: "integer" }
  column { name: "body" type: "text" }
  column { name: "body_tsv" type: "tsvector" generated: "to_tsvector('english'::regconfig, COALESCE(body, ''))" }
  column { name: "tags" type: "text[]" not_null: true default: "'{}'::text[]" }
  column { name: "seq" type: "integer" not_null: true identity: IDENTITY_BY_DEFAULT }
  primary_key { name: "pk_items" column: "id" }
  unique { name: "uq_items_owner_id_title" column: "owner_id" column: "title" }
  foreign_key { name: "fk_items_owner_id_owners" column: "owner_id" references_table: "owners" references_column: "id" on_delete: REFERENTIAL_ACTION_CASCADE }
  check { name: "ck_items_price_nonnegative" expression: "price >= 0" }
  index { name: "ix_items_open" key { column: "owner_id" } where: "status IN ('new', 'active')" }
  index { name: "ix_items_body_tsv" method: "gin" key { column: "body_tsv" } }
  index { name: "ix_items_body_pattern" key { column: "body" opclass: "text_pattern_ops" } }
}
)pb";

// Rows for cases that need a table with data.
constexpr char kRows[] = R"sql(
INSERT INTO owners (id, email, name) VALUES ('00000000-0000-0000-0000-000000000001', 'a@x', 'A');
INSERT INTO items (owner_id, title, price, views, body)
VALUES ('00000000-0000-0000-0000-000000000001', 'one', 1.50, 3, 'hello world');
)sql";

const std::vector<DriftCase>& Cases() {
  static const auto* const kCases = new std::vector<DriftCase>{
      // --- the database lacks something ------------------------------------
      {"MissingTable", "DROP TABLE items", {"MISSING table items"}, {}},
      {"MissingColumn",
       "ALTER TABLE items DROP COLUMN tags",
       {"MISSING column items.tags"},
       {},
       false,
       {},
       {"ALTER TABLE public.items ADD COLUMN tags text[] DEFAULT '{}'::text[] NOT NULL"}},
      {"MissingColumnWithVolatileDefaultOnTableWithRows",
       "ALTER TABLE owners DROP COLUMN token",
       {"MISSING column owners.token"},
       {"TABLE_REWRITE"},
       true},
      {"MissingColumnWithVolatileDefaultOnEmptyTable",
       "ALTER TABLE owners DROP COLUMN token",
       {"MISSING column owners.token"},
       {}},
      {"MissingNotNullColumnWithoutDefaultOnTableWithRows",
       "ALTER TABLE owners DROP COLUMN name",
       {"MISSING column owners.name"},
       {"VALIDATION"},
       true,
       {},
       {"ALTER TABLE public.owners ADD COLUMN name text NOT NULL"},
       absl::StatusCode::kFailedPrecondition},
      {"MissingIndexOnEmptyTable",
       "DROP INDEX ix_items_open",
       {"MISSING index items.ix_items_open"},
       {},
       false,
       {},
       {"CREATE INDEX ix_items_open ON public.items USING btree (owner_id) WHERE (status = ANY "
        "(ARRAY['new'::item_status, 'active'::item_status]))"}},
      {"MissingIndexOnTableWithRows",
       "DROP INDEX ix_items_open",
       {"MISSING index items.ix_items_open"},
       {"LONG_LOCK"},
       true},
      {"MissingExpressionIndex",
       "DROP INDEX ix_owners_email_lower",
       {"MISSING index owners.ix_owners_email_lower"},
       {},
       false,
       {},
       {"CREATE UNIQUE INDEX ix_owners_email_lower ON public.owners USING btree "
        "((lower((email)::text)))"}},
      {"MissingUniqueConstraint",
       "ALTER TABLE items DROP CONSTRAINT uq_items_owner_id_title",
       {"MISSING constraint items.uq_items_owner_id_title"},
       {}},
      {"MissingCheckOnTableWithRows",
       "ALTER TABLE items DROP CONSTRAINT ck_items_price_nonnegative",
       {"MISSING constraint items.ck_items_price_nonnegative"},
       {"VALIDATION", "LONG_LOCK"},
       true},
      {"MissingForeignKey",
       "ALTER TABLE items DROP CONSTRAINT fk_items_owner_id_owners",
       {"MISSING constraint items.fk_items_owner_id_owners"},
       {},
       false,
       {},
       {"ALTER TABLE public.items ADD CONSTRAINT fk_items_owner_id_owners FOREIGN KEY (owner_id) "
        "REFERENCES owners(id) ON DELETE CASCADE"}},
      {"MissingPrimaryKey",
       "ALTER TABLE items DROP CONSTRAINT pk_items",
       {"MISSING constraint items.pk_items"},
       {}},
      {"MissingEnumType",
       "",
       {"MISSING enum priority"},
       {},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" enum { name: \"priority\" label: \"low\" label: \"high\" }"}},
       {"CREATE TYPE public.priority AS ENUM ('low', 'high')"}},
      {"MissingEnumLabelAppended",
       "",
       {"MISSING enum_label item_status.archived"},
       {},
       false,
       {{"label: \"done\" }", "label: \"done\" label: \"archived\" }"}},
       {"ALTER TYPE public.item_status ADD VALUE 'archived' AFTER 'done'"}},
      {"MissingEnumLabelInTheMiddle",
       "",
       {"MISSING enum_label item_status.blocked"},
       {},
       false,
       {{"label: \"active\" label", "label: \"active\" label: \"blocked\" label"}},
       {"ALTER TYPE public.item_status ADD VALUE 'blocked' AFTER 'active'"}},
      {"MissingEnumLabelFirst",
       "",
       {"MISSING enum_label item_status.draft"},
       {},
       false,
       {{"label: \"new\"", "label: \"draft\" label: \"new\""}},
       {"ALTER TYPE public.item_status ADD VALUE 'draft' BEFORE 'new'"}},
      {"MissingExtension",
       "",
       {"MISSING extension pg_trgm"},
       {},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" extension { name: \"pg_trgm\" }"}},
       {"CREATE EXTENSION IF NOT EXISTS pg_trgm"}},
      {"MissingNewTableWithForeignKeyCycle",
       "",
       {"MISSING table a_nodes", "MISSING table b_nodes"},
       {},
       false,
       {{"table {\n  name: \"owners\"",
         "table { name: \"a_nodes\" column { name: \"id\" type: \"integer\" not_null: true } "
         "column { name: \"b_id\" type: \"integer\" } primary_key { name: \"pk_a_nodes\" column: "
         "\"id\" } foreign_key { name: \"fk_a_b\" column: \"b_id\" references_table: \"b_nodes\" "
         "references_column: \"id\" } }\n"
         "table { name: \"b_nodes\" column { name: \"id\" type: \"integer\" not_null: true } "
         "column { name: \"a_id\" type: \"integer\" } primary_key { name: \"pk_b_nodes\" column: "
         "\"id\" } foreign_key { name: \"fk_b_a\" column: \"a_id\" references_table: \"a_nodes\" "
         "references_column: \"id\" deferrable: true initially_deferred: true } }\n"
         "table {\n  name: \"owners\""}},
       {"CREATE TABLE public.a_nodes (\n    id integer NOT NULL,\n    b_id integer,\n    "
        "CONSTRAINT pk_a_nodes PRIMARY KEY (id)\n)",
        "CREATE TABLE public.b_nodes (\n    id integer NOT NULL,\n    a_id integer,\n    "
        "CONSTRAINT pk_b_nodes PRIMARY KEY (id)\n)",
        "ALTER TABLE public.a_nodes ADD CONSTRAINT fk_a_b FOREIGN KEY (b_id) REFERENCES "
        "b_nodes(id)",
        "ALTER TABLE public.b_nodes ADD CONSTRAINT fk_b_a FOREIGN KEY (a_id) REFERENCES "
        "a_nodes(id) "
        "DEFERRABLE INITIALLY DEFERRED"}},
      {"MissingSchema",
       "",
       {"MISSING schema app", "MISSING enum item_status", "MISSING table items",
        "MISSING table owners"},
       {},
       false,
       {{"schema: \"public\"", "schema: \"app\""}}},

      // --- the database has more ---------------------------------------------
      {"ExtraTable",
       "CREATE TABLE scratchpad (id integer)",
       {"EXTRA table scratchpad"},
       {"DATA_LOSS"},
       false,
       {},
       {"DROP TABLE public.scratchpad"}},
      {"ExtraTableMatchingIgnorePatternIsNotReported",
       "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
       {},
       {}},
      {"ExtraTablesReferencingEachOtherDropInOrder",
       "CREATE TABLE x_parent (id int PRIMARY KEY); "
       "CREATE TABLE x_child (id int PRIMARY KEY, parent_id int REFERENCES x_parent(id))",
       {"EXTRA table x_child", "EXTRA table x_parent"},
       {"DATA_LOSS"},
       false,
       {},
       {"DROP TABLE public.x_child", "DROP TABLE public.x_parent"}},
      {"ExtraColumn",
       "ALTER TABLE items ADD COLUMN legacy text",
       {"EXTRA column items.legacy"},
       {"DATA_LOSS"},
       false,
       {},
       {"ALTER TABLE public.items DROP COLUMN legacy"}},
      {"ExtraIndex",
       "CREATE INDEX ix_items_title ON items (title)",
       {"EXTRA index items.ix_items_title"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP INDEX public.ix_items_title"}},
      {"ExtraCheckConstraint",
       "ALTER TABLE items ADD CONSTRAINT ck_items_title_nonempty CHECK (title <> '')",
       {"EXTRA constraint items.ck_items_title_nonempty"},
       {"DROPS_OBJECT"}},
      {"ExtraForeignKey",
       "ALTER TABLE owners ADD COLUMN parent_id uuid;"
       "ALTER TABLE owners ADD CONSTRAINT fk_owners_parent FOREIGN KEY (parent_id) REFERENCES "
       "owners(id)",
       {"EXTRA column owners.parent_id", "EXTRA constraint owners.fk_owners_parent"},
       {"DATA_LOSS", "DROPS_OBJECT"},
       false,
       {},
       {"ALTER TABLE public.owners DROP CONSTRAINT fk_owners_parent",
        "ALTER TABLE public.owners DROP COLUMN parent_id"}},
      {"ExtraUniqueConstraint",
       "ALTER TABLE owners ADD CONSTRAINT uq_owners_email UNIQUE (email)",
       {"EXTRA constraint owners.uq_owners_email"},
       {"DROPS_OBJECT"}},
      {"ExtraEnumType",
       "CREATE TYPE mood AS ENUM ('calm')",
       {"EXTRA enum mood"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP TYPE public.mood"}},
      {"ExtraEnumLabelRecreatesTypeAndRecastsColumns",
       "ALTER TYPE item_status ADD VALUE 'archived'",
       {"EXTRA enum_label item_status.archived"},
       {"DATA_LOSS", "TABLE_REWRITE"},
       true},
      {"ExtraSequence",
       "CREATE SEQUENCE stray_seq",
       {"EXTRA sequence stray_seq"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP SEQUENCE public.stray_seq"}},
      // --- sequences of their own, declared -----------------------------------
      {"MissingSequence",
       "",
       {"MISSING sequence invoice_numbers"},
       {},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" sequence { name: \"invoice_numbers\" start: 1000 "
         "increment: 10 }"}},
       {"CREATE SEQUENCE public.invoice_numbers AS bigint INCREMENT BY 10 MINVALUE 1 MAXVALUE "
        "9223372036854775807 START WITH 1000 CACHE 1 NO CYCLE"}},
      {"SequenceOptionsChanged",
       "CREATE SEQUENCE invoice_numbers INCREMENT BY 5 START WITH 1000 CACHE 20",
       {"CHANGED sequence invoice_numbers definition"},
       {},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" sequence { name: \"invoice_numbers\" start: 1000 "
         "increment: 10 }"}},
       {"ALTER SEQUENCE public.invoice_numbers AS bigint INCREMENT BY 10 MINVALUE 1 MAXVALUE "
        "9223372036854775807 START WITH 1000 CACHE 1 NO CYCLE"}},
      {"SequenceRangeNarrowed",
       "CREATE SEQUENCE invoice_numbers AS integer",
       {"CHANGED sequence invoice_numbers definition"},
       {"VALIDATION"},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" sequence { name: \"invoice_numbers\" type: \"integer\" "
         "max_value: 99999 }"}}},
      {"SequenceOwnerMissing",
       "CREATE SEQUENCE invoice_numbers",
       {"CHANGED sequence invoice_numbers definition"},
       {},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" sequence { name: \"invoice_numbers\" owned_by_table: "
         "\"items\" owned_by_column: \"views\" }"}},
       {"ALTER SEQUENCE public.invoice_numbers OWNED BY public.items.views"}},
      {"SequenceNoLongerOwned",
       "CREATE SEQUENCE invoice_numbers OWNED BY items.views",
       {"CHANGED sequence invoice_numbers definition"},
       {"DROPS_OBJECT"},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" sequence { name: \"invoice_numbers\" }"}},
       {"ALTER SEQUENCE public.invoice_numbers OWNED BY NONE"}},
      {"SequenceCalledByANewDefault",
       "",
       {"MISSING sequence invoice_numbers", "CHANGED column items.views default"},
       {},
       false,
       {{"ignore: \"alembic_version\"",
         "ignore: \"alembic_version\" sequence { name: \"invoice_numbers\" type: \"integer\" }"},
        {"column { name: \"views\" type: \"integer\" }",
         "column { name: \"views\" type: \"integer\" default: \"nextval('invoice_numbers')\" }"}},
       {"CREATE SEQUENCE public.invoice_numbers AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE "
        "2147483647 START WITH 1 CACHE 1 NO CYCLE",
        "ALTER TABLE public.items ALTER COLUMN views SET DEFAULT "
        "nextval('invoice_numbers'::regclass)"}},
      {"ExtraSequenceCalledByAnExtraColumn",
       "CREATE SEQUENCE stray_seq; ALTER TABLE items ADD COLUMN n bigint DEFAULT "
       "nextval('stray_seq')",
       {"EXTRA sequence stray_seq", "EXTRA column items.n"},
       {"DATA_LOSS", "DROPS_OBJECT"},
       false,
       {},
       {"ALTER TABLE public.items DROP COLUMN n", "DROP SEQUENCE public.stray_seq"}},
      {"ExtraExtension",
       "CREATE EXTENSION pg_trgm",
       {"EXTRA extension pg_trgm"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP EXTENSION pg_trgm"}},

      // --- both have it, and they differ ------------------------------------
      {"ColumnLengthShorterInDatabase",
       "ALTER TABLE items ALTER COLUMN title TYPE varchar(50)",
       {"CHANGED column items.title type"},
       {"TABLE_REWRITE"},
       false,
       {},
       {"ALTER TABLE public.items ALTER COLUMN title TYPE character varying(100) USING "
        "title::character varying(100)"}},
      {"TypeChangeWithADeclaredUsing",
       "",
       {"CHANGED column items.views type"},
       {"TABLE_REWRITE", "DATA_LOSS"},
       true,
       {{"column { name: \"views\" type: \"integer\" }",
         "column { name: \"views\" type: \"timestamp with time zone\" using: "
         "\"to_timestamp(views)\" }"}},
       {"ALTER TABLE public.items ALTER COLUMN views TYPE timestamp with time zone USING "
        "(to_timestamp(views))"}},
      {"ColumnLengthLongerInDatabaseNarrows",
       "ALTER TABLE items ALTER COLUMN title TYPE varchar(200)",
       {"CHANGED column items.title type"},
       {"TABLE_REWRITE", "DATA_LOSS"},
       true},
      // The check on price was rewritten by PostgreSQL for the new type
      // ((price >= (0)::double precision)): a real difference too.
      {"ColumnTypeFamilyChanged",
       "ALTER TABLE items ALTER COLUMN price TYPE double precision",
       {"CHANGED column items.price type",
        "CHANGED constraint items.ck_items_price_nonnegative definition"},
       {"TABLE_REWRITE", "DATA_LOSS", "DROPS_OBJECT", "VALIDATION", "LONG_LOCK"},
       true},
      {"ColumnIntegerWidenedInDatabase",
       "ALTER TABLE items ALTER COLUMN views TYPE bigint",
       {"CHANGED column items.views type"},
       {"TABLE_REWRITE", "DATA_LOSS"}},
      {"ColumnNullableInDatabase",
       "ALTER TABLE items ALTER COLUMN title DROP NOT NULL",
       {"CHANGED column items.title nullable"},
       {"VALIDATION"},
       false,
       {},
       {"ALTER TABLE public.items ALTER COLUMN title SET NOT NULL"}},
      {"ColumnNotNullInDatabase",
       "ALTER TABLE items ALTER COLUMN body SET NOT NULL",
       {"CHANGED column items.body nullable"},
       {},
       false,
       {},
       {"ALTER TABLE public.items ALTER COLUMN body DROP NOT NULL"}},
      {"ColumnDefaultChanged",
       "ALTER TABLE items ALTER COLUMN status SET DEFAULT 'active'",
       {"CHANGED column items.status default"},
       {},
       false,
       {},
       {"ALTER TABLE public.items ALTER COLUMN status SET DEFAULT 'new'::item_status"}},
      {"ColumnDefaultDropped",
       "ALTER TABLE items ALTER COLUMN tags DROP DEFAULT",
       {"CHANGED column items.tags default"},
       {}},
      {"ColumnDefaultAddedInDatabase",
       "ALTER TABLE items ALTER COLUMN body SET DEFAULT ''",
       {"CHANGED column items.body default"},
       {},
       false,
       {},
       {"ALTER TABLE public.items ALTER COLUMN body DROP DEFAULT"}},
      {"IdentityDroppedInDatabase",
       "ALTER TABLE items ALTER COLUMN seq DROP IDENTITY",
       {"CHANGED column items.seq identity"},
       {"VALIDATION"},
       false,
       {},
       {"ALTER TABLE public.items ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY"}},
      {"IdentityKindChanged",
       "ALTER TABLE items ALTER COLUMN seq SET GENERATED ALWAYS",
       {"CHANGED column items.seq identity"},
       {"DROPS_OBJECT"}},
      // --- collations ---------------------------------------------------------
      {"CollationChangedInDatabase",
       "ALTER TABLE owners ALTER COLUMN name TYPE text COLLATE \"C\"",
       {"CHANGED column owners.name collation"},
       {},
       true,
       {},
       {"ALTER TABLE public.owners ALTER COLUMN name TYPE text"}},
      {"CollationDeclaredOnAnIndexedColumnWithRows",
       "",
       {"CHANGED column items.title collation"},
       {"LONG_LOCK"},
       true,
       {{"type: \"character varying(100)\" not_null: true",
         "type: \"character varying(100)\" collation: \"\\\"C\\\"\" not_null: true"}},
       {"ALTER TABLE public.items ALTER COLUMN title TYPE character varying(100) COLLATE \"C\""}},
      {"TypeAndCollationChangedTogetherAreOneStep",
       "ALTER TABLE owners ALTER COLUMN name TYPE varchar(50) COLLATE \"C\"",
       {"CHANGED column owners.name type"},
       {"TABLE_REWRITE"},
       false,
       {},
       {"ALTER TABLE public.owners ALTER COLUMN name TYPE text USING name::text"}},
      {"ColumnWithACollationMissing",
       "ALTER TABLE owners DROP COLUMN name",
       {"MISSING column owners.name"},
       {},
       false,
       {{"column { name: \"name\" type: \"text\" not_null: true }",
         "column { name: \"name\" type: \"text\" collation: \"\\\"POSIX\\\"\" not_null: true "
         "default: \"''\" }"}},
       {"ALTER TABLE public.owners ADD COLUMN name text COLLATE \"POSIX\" DEFAULT ''::text NOT "
        "NULL"}},
      {"ValidatedConstraintDeclaredNotValidIsReAddedNotValid",
       "",
       {"CHANGED constraint items.ck_items_price_nonnegative valid"},
       {"DROPS_OBJECT"},
       true,
       {{"expression: \"price >= 0\" }", "expression: \"price >= 0\" not_valid: true }"}}},
      // --- storage parameters ---------------------------------------------------
      {"StorageParametersChangedInDatabase",
       "ALTER TABLE items SET (fillfactor = 70, autovacuum_enabled = false)",
       {"CHANGED table items storage"},
       {},
       true,
       {},
       {"ALTER TABLE public.items RESET (autovacuum_enabled, fillfactor)"}},
      {"StorageParametersDeclaredAndChanged",
       "ALTER TABLE items SET (fillfactor = 70, autovacuum_enabled = false)",
       {"CHANGED table items storage"},
       {},
       false,
       {{"  name: \"items\"\n",
         "  name: \"items\"\n  storage_parameter: \"FillFactor=80\" "
         "storage_parameter: \"toast_tuple_target=4096\"\n"}},
       {"ALTER TABLE public.items SET (fillfactor=80, toast_tuple_target=4096)",
        "ALTER TABLE public.items RESET (autovacuum_enabled)"}},
      // --- table persistence and row level security ---------------------------
      {"RowLevelSecurityEnabledInDatabase",
       "ALTER TABLE owners ENABLE ROW LEVEL SECURITY",
       {"CHANGED table owners row security"},
       {"AUTHZ"},
       false,
       {},
       {"ALTER TABLE public.owners DISABLE ROW LEVEL SECURITY"}},
      {"RowLevelSecurityDeclaredEnabledAndForced",
       "",
       {"CHANGED table owners row security"},
       {"AUTHZ"},
       true,
       {{"  name: \"owners\"\n",
         "  name: \"owners\"\n  row_level_security: true force_row_level_security: true\n"}},
       {"ALTER TABLE public.owners ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE public.owners FORCE ROW LEVEL SECURITY"}},
      {"TableSetUnloggedInDatabase",
       "ALTER TABLE items SET UNLOGGED",
       {"CHANGED table items persistence"},
       {"TABLE_REWRITE"},
       true,
       {},
       {"ALTER TABLE public.items SET LOGGED"}},
      {"TableDeclaredUnlogged",
       "",
       {"CHANGED table items persistence"},
       {"DATA_LOSS"},
       false,
       {{"  name: \"items\"\n", "  name: \"items\"\n  unlogged: true\n"}},
       {"ALTER TABLE public.items SET UNLOGGED"}},
      // --- index and key options ----------------------------------------------
      {"KeyIndexStorageParametersDeclared",
       "ALTER INDEX pk_items SET (fillfactor = 80)",
       {"CHANGED constraint items.pk_items definition"},
       {},
       true,
       {{"primary_key { name: \"pk_items\" column: \"id\" }",
         "primary_key { name: \"pk_items\" column: \"id\" storage_parameter: \"fillfactor=60\" "
         "storage_parameter: \"deduplicate_items=off\" }"}},
       {"ALTER INDEX public.pk_items SET (deduplicate_items=off, fillfactor=60)"}},
      {"IndexDeclaredWithKeyCollationAndStorage",
       "",
       {"CHANGED index items.ix_items_body_pattern definition"},
       {"DROPS_OBJECT"},
       false,
       {{"key { column: \"body\" opclass: \"text_pattern_ops\" } }",
         "key { column: \"body\" opclass: \"text_pattern_ops\" collation: \"\\\"C\\\"\" } "
         "storage_parameter: \"fillfactor=70\" }"}},
       {"DROP INDEX public.ix_items_body_pattern",
        "CREATE INDEX ix_items_body_pattern ON public.items USING btree (body COLLATE \"C\" "
        "text_pattern_ops) WITH (fillfactor=70)"}},
      {"UniqueConstraintDeclaredWithIncludeAndNullsNotDistinct",
       "",
       {"CHANGED constraint items.uq_items_owner_id_title definition"},
       {"DROPS_OBJECT"},
       false,
       {{"unique { name: \"uq_items_owner_id_title\" column: \"owner_id\" column: \"title\" }",
         "unique { name: \"uq_items_owner_id_title\" column: \"owner_id\" column: \"title\" "
         "include: \"price\" nulls_not_distinct: true storage_parameter: \"fillfactor=90\" }"}},
       {"ALTER TABLE public.items DROP CONSTRAINT uq_items_owner_id_title",
        "ALTER TABLE public.items ADD CONSTRAINT uq_items_owner_id_title UNIQUE NULLS NOT DISTINCT "
        "(owner_id, title) INCLUDE (price) WITH (fillfactor=90)"}},
      {"ForeignKeyDeclaredMatchFullSettingOneColumn",
       "",
       {"CHANGED constraint items.fk_items_owner_id_owners definition"},
       {"DROPS_OBJECT"},
       false,
       {{"on_delete: REFERENTIAL_ACTION_CASCADE }",
         "on_delete: REFERENTIAL_ACTION_SET_NULL on_delete_set_column: \"owner_id\" match_full: "
         "true }"}},
       {"ALTER TABLE public.items DROP CONSTRAINT fk_items_owner_id_owners",
        "ALTER TABLE public.items ADD CONSTRAINT fk_items_owner_id_owners FOREIGN KEY (owner_id) "
        "REFERENCES owners(id) MATCH FULL ON DELETE SET NULL (owner_id)"}},
      // --- exclusion constraints -----------------------------------------------
      {"ExclusionConstraintDeclaredOnTableWithRows",
       "",
       {"MISSING constraint items.ex_items_title"},
       {"VALIDATION", "LONG_LOCK"},
       true,
       {{"check { name: \"ck_items_price_nonnegative\" expression: \"price >= 0\" }",
         "check { name: \"ck_items_price_nonnegative\" expression: \"price >= 0\" }\n"
         "  exclude { name: \"ex_items_title\" definition: \"EXCLUDE USING btree (title WITH =)\" "
         "}"}},
       {"ALTER TABLE public.items ADD CONSTRAINT ex_items_title EXCLUDE USING btree (title WITH "
        "=)"}},
      {"ExclusionConstraintExtraInDatabase",
       "ALTER TABLE items ADD CONSTRAINT ex_items_title EXCLUDE USING btree (title WITH =)",
       {"EXTRA constraint items.ex_items_title"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"ALTER TABLE public.items DROP CONSTRAINT ex_items_title"}},
      {"ExclusionConstraintChangedInDatabase",
       "ALTER TABLE items ADD CONSTRAINT ex_items_title EXCLUDE USING btree (title WITH =)",
       {"CHANGED constraint items.ex_items_title definition"},
       {"DROPS_OBJECT"},
       false,
       {{"check { name: \"ck_items_price_nonnegative\" expression: \"price >= 0\" }",
         "check { name: \"ck_items_price_nonnegative\" expression: \"price >= 0\" }\n"
         "  exclude { name: \"ex_items_title\" definition: \"EXCLUDE USING btree (title WITH =) "
         "WHERE (views > 0) DEFERRABLE\" }"}},
       {"ALTER TABLE public.items DROP CONSTRAINT ex_items_title",
        "ALTER TABLE public.items ADD CONSTRAINT ex_items_title EXCLUDE USING btree (title WITH =) "
        "WHERE ((views > 0)) DEFERRABLE"}},
      // --- physical settings of columns ----------------------------------------
      {"ColumnStorageSetInDatabase",
       "ALTER TABLE items ALTER COLUMN body SET STORAGE MAIN",
       {"CHANGED column items.body storage"},
       {},
       true,
       {},
       {"ALTER TABLE public.items ALTER COLUMN body SET STORAGE EXTENDED"}},
      {"ColumnStatisticsSetInDatabase",
       "ALTER TABLE items ALTER COLUMN views SET STATISTICS 0",
       {"CHANGED column items.views statistics"},
       {},
       true,
       {},
       {"ALTER TABLE public.items ALTER COLUMN views SET STATISTICS -1"}},
      {"ColumnOptionSetInDatabase",
       "ALTER TABLE items ALTER COLUMN views SET (n_distinct = 100)",
       {"CHANGED column items.views options"},
       {},
       true,
       {},
       {"ALTER TABLE public.items ALTER COLUMN views RESET (n_distinct)"}},
      {"ColumnSettingsDeclared",
       "",
       {"CHANGED column items.body storage", "CHANGED column items.body compression",
        "CHANGED column items.body statistics"},
       {},
       true,
       {{"column { name: \"body\" type: \"text\" }",
         "column { name: \"body\" type: \"text\" storage: \"External\" compression: \"lz4\" "
         "statistics: 400 }"}},
       {"ALTER TABLE public.items ALTER COLUMN body SET STORAGE EXTERNAL",
        "ALTER TABLE public.items ALTER COLUMN body SET COMPRESSION lz4",
        "ALTER TABLE public.items ALTER COLUMN body SET STATISTICS 400"}},
      // --- replica identity ---------------------------------------------------
      {"ReplicaIdentityFullInDatabase",
       "ALTER TABLE items REPLICA IDENTITY FULL",
       {"CHANGED table items replica identity"},
       {},
       true,
       {},
       {"ALTER TABLE public.items REPLICA IDENTITY DEFAULT"}},
      {"ReplicaIdentityDeclaredNothing",
       "",
       {"CHANGED table items replica identity"},
       {},
       false,
       {{"  name: \"items\"\n",
         "  name: \"items\"\n  replica_identity: REPLICA_IDENTITY_NOTHING\n"}},
       {"ALTER TABLE public.items REPLICA IDENTITY NOTHING"}},
      {"ReplicaIdentityDeclaredUsingAUniqueConstraintsIndex",
       "ALTER TABLE items REPLICA IDENTITY USING INDEX pk_items",
       {"CHANGED table items replica identity"},
       {},
       true,
       {{"  name: \"items\"\n",
         "  name: \"items\"\n  replica_identity: REPLICA_IDENTITY_USING_INDEX "
         "replica_identity_index: \"uq_items_owner_id_title\"\n"}},
       {"ALTER TABLE public.items REPLICA IDENTITY USING INDEX uq_items_owner_id_title"}},
      // The identity's index is gone: PostgreSQL writes no old key (NOTHING).
      {"ReplicaIdentityIndexDroppedInDatabase",
       "ALTER TABLE items REPLICA IDENTITY USING INDEX uq_items_owner_id_title; "
       "ALTER TABLE items DROP CONSTRAINT uq_items_owner_id_title",
       {"CHANGED table items replica identity", "MISSING constraint items.uq_items_owner_id_title"},
       {},
       false,
       {{"  name: \"items\"\n",
         "  name: \"items\"\n  replica_identity: REPLICA_IDENTITY_USING_INDEX "
         "replica_identity_index: \"uq_items_owner_id_title\"\n"}},
       {"ALTER TABLE public.items ADD CONSTRAINT uq_items_owner_id_title UNIQUE (owner_id, title)",
        "ALTER TABLE public.items REPLICA IDENTITY USING INDEX uq_items_owner_id_title"}},
      // Re-creating the identity's index loses the mark: it is set again.
      {"ReplicaIdentityKeptWhenItsIndexIsRebuilt",
       "ALTER TABLE items DROP CONSTRAINT uq_items_owner_id_title; "
       "ALTER TABLE items ADD CONSTRAINT uq_items_owner_id_title UNIQUE (title, owner_id); "
       "ALTER TABLE items REPLICA IDENTITY USING INDEX uq_items_owner_id_title",
       {"CHANGED constraint items.uq_items_owner_id_title definition"},
       {"DROPS_OBJECT"},
       false,
       {{"  name: \"items\"\n",
         "  name: \"items\"\n  replica_identity: REPLICA_IDENTITY_USING_INDEX "
         "replica_identity_index: \"uq_items_owner_id_title\"\n"}},
       {"ALTER TABLE public.items DROP CONSTRAINT uq_items_owner_id_title",
        "ALTER TABLE public.items ADD CONSTRAINT uq_items_owner_id_title UNIQUE (owner_id, title)",
        "ALTER TABLE public.items REPLICA IDENTITY USING INDEX uq_items_owner_id_title"}},
      // --- identity options --------------------------------------------------
      {"IdentityOptionsChangedInDatabase",
       "ALTER TABLE items ALTER COLUMN seq SET INCREMENT BY 5 SET CACHE 20",
       {"CHANGED column items.seq options"},
       {},
       false,
       {},
       {"ALTER TABLE public.items ALTER COLUMN seq SET START WITH 1 SET INCREMENT BY 1 SET "
        "MINVALUE 1 SET MAXVALUE 2147483647 SET CACHE 1 SET NO CYCLE"}},
      {"IdentityOptionsDeclaredNarrowingTheRange",
       "",
       {"CHANGED column items.seq options"},
       {"VALIDATION"},
       false,
       {{"identity: IDENTITY_BY_DEFAULT }",
         "identity: IDENTITY_BY_DEFAULT identity_options { start: 1000 max_value: 999999 } }"}},
       {"ALTER TABLE public.items ALTER COLUMN seq SET START WITH 1000 SET INCREMENT BY 1 SET "
        "MINVALUE 1 SET MAXVALUE 999999 SET CACHE 1 SET NO CYCLE"}},
      {"IdentityOptionsDeclaredAsDefaultsAreInSync",
       "",
       {},
       {},
       false,
       {{"identity: IDENTITY_BY_DEFAULT }",
         "identity: IDENTITY_BY_DEFAULT identity_options { increment: 1 min_value: 1 "
         "max_value: 2147483647 start: 1 cache: 1 } }"}}},
      {"IdentityReAddedWithDeclaredOptions",
       "ALTER TABLE items ALTER COLUMN seq DROP IDENTITY",
       {"CHANGED column items.seq identity"},
       {"VALIDATION"},
       false,
       {{"identity: IDENTITY_BY_DEFAULT }",
         "identity: IDENTITY_BY_DEFAULT identity_options { start: 100 increment: 10 } }"}},
       {"ALTER TABLE public.items ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY (START "
        "WITH 100 INCREMENT BY 10)"}},
      {"GeneratedExpressionChanged",
       "ALTER TABLE items DROP COLUMN body_tsv; ALTER TABLE items ADD COLUMN body_tsv tsvector "
       "GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, COALESCE(body, ''))) STORED; "
       "CREATE INDEX ix_items_body_tsv ON items USING gin (body_tsv)",
       {"CHANGED column items.body_tsv generated"},
       {"TABLE_REWRITE"},
       true},
      {"GeneratedColumnIsPlainInDatabase",
       "ALTER TABLE items ALTER COLUMN body_tsv DROP EXPRESSION",
       {"CHANGED column items.body_tsv generated"},
       {"DATA_LOSS", "TABLE_REWRITE"}},
      {"ForeignKeyActionChanged",
       "ALTER TABLE items DROP CONSTRAINT fk_items_owner_id_owners; ALTER TABLE items ADD "
       "CONSTRAINT fk_items_owner_id_owners FOREIGN KEY (owner_id) REFERENCES owners(id) ON DELETE "
       "RESTRICT",
       {"CHANGED constraint items.fk_items_owner_id_owners definition"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"ALTER TABLE public.items DROP CONSTRAINT fk_items_owner_id_owners",
        "ALTER TABLE public.items ADD CONSTRAINT fk_items_owner_id_owners FOREIGN KEY (owner_id) "
        "REFERENCES owners(id) ON DELETE CASCADE"}},
      {"CheckExpressionChanged",
       "ALTER TABLE items DROP CONSTRAINT ck_items_price_nonnegative; ALTER TABLE items ADD "
       "CONSTRAINT ck_items_price_nonnegative CHECK (price > 0)",
       {"CHANGED constraint items.ck_items_price_nonnegative definition"},
       {"DROPS_OBJECT", "VALIDATION", "LONG_LOCK"},
       true},
      {"UniqueColumnsChanged",
       "ALTER TABLE items DROP CONSTRAINT uq_items_owner_id_title; ALTER TABLE items ADD "
       "CONSTRAINT uq_items_owner_id_title UNIQUE (title)",
       {"CHANGED constraint items.uq_items_owner_id_title definition"},
       {"DROPS_OBJECT"}},
      {"IndexMethodChanged",
       "DROP INDEX ix_items_body_tsv; CREATE INDEX ix_items_body_tsv ON items USING gist "
       "(body_tsv)",
       {"CHANGED index items.ix_items_body_tsv definition"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP INDEX public.ix_items_body_tsv",
        "CREATE INDEX ix_items_body_tsv ON public.items USING gin (body_tsv)"}},
      {"IndexPredicateChanged",
       "DROP INDEX ix_items_open; CREATE INDEX ix_items_open ON items (owner_id) WHERE status = "
       "'new'",
       {"CHANGED index items.ix_items_open definition"},
       {"DROPS_OBJECT", "LONG_LOCK"},
       true},
      {"IndexUniquenessChanged",
       "DROP INDEX ix_owners_email_lower; CREATE INDEX ix_owners_email_lower ON owners "
       "(lower(email))",
       {"CHANGED index owners.ix_owners_email_lower definition"},
       {"DROPS_OBJECT", "LONG_LOCK", "VALIDATION"},
       true},
      {"IndexKeyOrderChanged",
       "DROP INDEX ix_items_open; CREATE INDEX ix_items_open ON items (owner_id DESC) "
       "WHERE status IN ('new', 'active')",
       {"CHANGED index items.ix_items_open definition"},
       {"DROPS_OBJECT"}},
      {"IndexOperatorClassChanged",
       "DROP INDEX ix_items_body_pattern; CREATE INDEX ix_items_body_pattern ON items (body)",
       {"CHANGED index items.ix_items_body_pattern definition"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP INDEX public.ix_items_body_pattern",
        "CREATE INDEX ix_items_body_pattern ON public.items USING btree (body text_pattern_ops)"}},
      {"IndexCollationChanged",
       "DROP INDEX ix_items_body_pattern; "
       "CREATE INDEX ix_items_body_pattern ON items (body COLLATE \"C\" text_pattern_ops)",
       {"CHANGED index items.ix_items_body_pattern definition"},
       {"DROPS_OBJECT"}},
      {"IndexIncludeColumnsChanged",
       "DROP INDEX ix_items_open; CREATE INDEX ix_items_open ON items (owner_id) INCLUDE (title) "
       "WHERE status IN ('new', 'active')",
       {"CHANGED index items.ix_items_open definition"},
       {"DROPS_OBJECT"}},
      // Storage parameters alone change in place (no rebuild, no drop).
      {"IndexStorageParameterChanged",
       "ALTER INDEX ix_items_open SET (fillfactor = 70)",
       {"CHANGED index items.ix_items_open definition"},
       {},
       true,
       {},
       {"ALTER INDEX public.ix_items_open RESET (fillfactor)"}},
      {"UniqueNullsNotDistinctChanged",
       "ALTER TABLE items DROP CONSTRAINT uq_items_owner_id_title; ALTER TABLE items ADD "
       "CONSTRAINT uq_items_owner_id_title UNIQUE NULLS NOT DISTINCT (owner_id, title)",
       {"CHANGED constraint items.uq_items_owner_id_title definition"},
       {"DROPS_OBJECT"}},
      {"ForeignKeyDeferrableChanged",
       "ALTER TABLE items ALTER CONSTRAINT fk_items_owner_id_owners DEFERRABLE INITIALLY DEFERRED",
       {"CHANGED constraint items.fk_items_owner_id_owners definition"},
       {"DROPS_OBJECT"}},
      {"ForeignKeyMatchTypeChanged",
       "ALTER TABLE items DROP CONSTRAINT fk_items_owner_id_owners; ALTER TABLE items ADD "
       "CONSTRAINT fk_items_owner_id_owners FOREIGN KEY (owner_id) REFERENCES owners(id) MATCH "
       "FULL ON DELETE CASCADE",
       {"CHANGED constraint items.fk_items_owner_id_owners definition"},
       {"DROPS_OBJECT"}},
      {"CheckNoInheritChanged",
       "ALTER TABLE items DROP CONSTRAINT ck_items_price_nonnegative; ALTER TABLE items ADD "
       "CONSTRAINT ck_items_price_nonnegative CHECK (price >= 0) NO INHERIT",
       {"CHANGED constraint items.ck_items_price_nonnegative definition"},
       {"DROPS_OBJECT"}},
      {"InvalidIndexLeftByFailedConcurrentBuild",
       "UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'ix_items_open'::regclass",
       {"CHANGED index items.ix_items_open valid"},
       {"DROPS_OBJECT"}},
      {"NotValidConstraint",
       "ALTER TABLE items DROP CONSTRAINT ck_items_price_nonnegative; ALTER TABLE items ADD "
       "CONSTRAINT ck_items_price_nonnegative CHECK (price >= 0) NOT VALID",
       {"CHANGED constraint items.ck_items_price_nonnegative valid"},
       {"VALIDATION"},
       false,
       {},
       {"ALTER TABLE public.items VALIDATE CONSTRAINT ck_items_price_nonnegative"}},
      {"EnumLabelRenamedInDatabase",
       "ALTER TYPE item_status RENAME VALUE 'done' TO 'finished'",
       {"MISSING enum_label item_status.done", "EXTRA enum_label item_status.finished"},
       {"DATA_LOSS", "TABLE_REWRITE"}},
      {"EnumLabelsReordered",
       "",
       {"CHANGED enum item_status labels"},
       {"TABLE_REWRITE"},
       true,
       {{"label: \"new\" label: \"active\" label: \"done\"",
         "label: \"new\" label: \"done\" label: \"active\""}}},
      {"ColumnOrderAloneIsNotADifference",
       "ALTER TABLE items DROP CONSTRAINT fk_items_owner_id_owners; DROP TABLE owners; "
       "CREATE TABLE owners (created_at timestamptz NOT NULL DEFAULT now(), token uuid NOT NULL "
       "DEFAULT gen_random_uuid(), name text NOT NULL, email varchar(200) NOT NULL, id uuid NOT "
       "NULL DEFAULT gen_random_uuid(), CONSTRAINT pk_owners PRIMARY KEY (id)); "
       "CREATE UNIQUE INDEX ix_owners_email_lower ON owners (lower(email)); "
       "ALTER TABLE items ADD CONSTRAINT fk_items_owner_id_owners FOREIGN KEY (owner_id) "
       "REFERENCES owners(id) ON DELETE CASCADE",
       {},
       {}},
  };
  return *kCases;
}

class DriftTest : public ::testing::TestWithParam<DriftCase> {};

TEST_P(DriftTest, ReportsPlansAndConverges) { RunDriftCase(kBaseRegistry, kRows, GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, DriftTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<DriftCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace schemad

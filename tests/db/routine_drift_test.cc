// Drift acceptance cases for functions, procedures and triggers (see
// testing/drift.h for what each case asserts): every attribute added,
// dropped and changed, overloads, and the dependency cases (an IMMUTABLE
// function an index and a check use, a function triggers call, a trigger
// over a column whose type changes).
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/drift.h"
#include "testing/test_db.h"

namespace schemad {
namespace {

using testing::DriftCase;
using testing::RunDriftCase;

constexpr char kBaseRegistry[] = R"pb(
registry { schema: "public" }
function {
  name: "slugify"
  arguments: "t text"
  returns: "text"
  language: "sql"
  body: "SELECT lower(regexp_replace(t, '[^a-zA-Z0-9]+', '-', 'g'))"
  volatility: VOLATILITY_IMMUTABLE
  strict: true
  parallel: PARALLEL_SAFE
}
function {
  name: "touch_updated_at"
  returns: "trigger"
  language: "plpgsql"
  body: "BEGIN NEW.updated_at := now(); RETURN NEW; END"
  comment: "sets updated_at"
}
function {
  name: "audit"
  returns: "trigger"
  language: "plpgsql"
  body: "BEGIN RETURN NULL; END"
  config: "search_path = pg_catalog, pg_temp"
}
function { name: "add" arguments: "a integer, b integer" returns: "integer" language: "sql" body: "SELECT a + b" }
function { name: "add" arguments: "a numeric, b numeric" returns: "numeric" language: "sql" body: "SELECT a + b" }
function { name: "reset_notes" procedure: true language: "plpgsql" body: "BEGIN DELETE FROM notes; END" }
table {
  name: "notes"
  column { name: "id" type: "bigint" not_null: true }
  column { name: "body" type: "text" not_null: true }
  column { name: "slug" type: "text" }
  column { name: "updated_at" type: "timestamp with time zone" }
  primary_key { name: "pk_notes" column: "id" }
  check { name: "ck_notes_slug" expression: "slug IS NULL OR slug = slugify(slug)" }
  index { name: "ix_notes_body_slug" key { expression: "slugify(body)" } }
  trigger {
    name: "trg_notes_touch"
    timing: TRIGGER_TIMING_BEFORE
    event: TRIGGER_EVENT_UPDATE
    for_each_row: true
    function: "touch_updated_at"
    comment: "keeps updated_at"
  }
  trigger {
    name: "trg_notes_audit"
    timing: TRIGGER_TIMING_AFTER
    event: TRIGGER_EVENT_DELETE
    event: TRIGGER_EVENT_INSERT
    function: "audit"
    argument: "notes"
  }
  trigger {
    name: "trg_notes_slug"
    timing: TRIGGER_TIMING_BEFORE
    event: TRIGGER_EVENT_UPDATE
    update_column: "slug"
    for_each_row: true
    when: "OLD.slug IS DISTINCT FROM NEW.slug"
    function: "touch_updated_at"
  }
  trigger {
    name: "trg_notes_check"
    constraint: true
    deferrable: true
    initially_deferred: true
    timing: TRIGGER_TIMING_AFTER
    event: TRIGGER_EVENT_INSERT
    for_each_row: true
    function: "audit"
  }
}
)pb";

constexpr char kRows[] = "INSERT INTO notes (id, body, slug) VALUES (1, 'Hello World', NULL)";

const std::vector<DriftCase>& Cases() {
  static const auto* const kCases = new std::vector<DriftCase>{
      {"MissingOverload",
       "DROP FUNCTION add(numeric, numeric)",
       {"MISSING function add(numeric, numeric)"},
       {},
       false,
       {},
       {"CREATE FUNCTION public.add(a numeric, b numeric)\n RETURNS numeric\n LANGUAGE sql\n"
        "AS 'SELECT a + b'"}},
      {"ExtraFunction",
       "CREATE FUNCTION stray() RETURNS integer LANGUAGE sql AS 'SELECT 1'",
       {"EXTRA function stray()"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP FUNCTION public.stray()"}},
      {"MissingProcedure", "DROP PROCEDURE reset_notes()", {"MISSING function reset_notes()"}, {}},
      // LEAKPROOF and the planner's estimates are part of the definition.
      {"FunctionCostAndLeakproofChangedInDatabase",
       "ALTER FUNCTION add(integer, integer) COST 5 LEAKPROOF",
       {"CHANGED function add(integer, integer) definition"},
       {},
       false,
       {},
       {"CREATE OR REPLACE FUNCTION public.add(a integer, b integer)\n RETURNS integer\n LANGUAGE "
        "sql\nAS 'SELECT a + b'"}},
      {"FunctionDeclaredWithCost",
       "",
       {"CHANGED function audit() definition"},
       {},
       false,
       {{"config: \"search_path = pg_catalog, pg_temp\"",
         "config: \"search_path = pg_catalog, pg_temp\" cost: 7.5"}}},
      {"TriggerWithTransitionTableDeclared",
       "",
       {"MISSING trigger notes.trg_notes_batch"},
       {},
       false,
       {{"  trigger {\n    name: \"trg_notes_audit\"",
         "  trigger { name: \"trg_notes_batch\" timing: TRIGGER_TIMING_AFTER event: "
         "TRIGGER_EVENT_UPDATE function: \"audit\" referencing_old_table: \"old_rows\" "
         "referencing_new_table: \"new_rows\" }\n  trigger {\n    name: \"trg_notes_audit\""}},
       {"CREATE TRIGGER trg_notes_batch AFTER UPDATE ON notes REFERENCING OLD TABLE AS "
        "old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION audit()"}},
      {"TriggerTransitionTableAddedInDatabase",
       "DROP TRIGGER trg_notes_audit ON notes; CREATE TRIGGER trg_notes_audit AFTER INSERT ON "
       "notes "
       "REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION audit('notes')",
       {"CHANGED trigger notes.trg_notes_audit definition"},
       {}},
      {"FunctionBodyChanged",
       "CREATE OR REPLACE FUNCTION touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS "
       "'BEGIN RETURN NEW; END'",
       {"CHANGED function touch_updated_at() definition"},
       {},
       false,
       {},
       {"CREATE OR REPLACE FUNCTION public.touch_updated_at()\n RETURNS trigger\n LANGUAGE "
        "plpgsql\nAS 'BEGIN NEW.updated_at := now(); RETURN NEW; END'"}},
      {"FunctionSettingDropped",
       "ALTER FUNCTION audit() RESET search_path",
       {"CHANGED function audit() definition"},
       {}},
      {"ImmutableFunctionUsedByIndexAndCheckReplaced",
       "",
       {"CHANGED function slugify(text) definition"},
       {"CORRECTNESS"},
       true,
       {{"SELECT lower(regexp_replace", "SELECT upper(regexp_replace"}},
       {"CREATE OR REPLACE FUNCTION public.slugify(t text)\n RETURNS text\n LANGUAGE sql "
        "IMMUTABLE STRICT PARALLEL SAFE\nAS 'SELECT upper(regexp_replace(t, ''[^a-zA-Z0-9]+'', "
        "''-'', ''g''))'",
        "ALTER TABLE public.notes DROP CONSTRAINT ck_notes_slug",
        "REINDEX INDEX public.ix_notes_body_slug",
        "ALTER TABLE public.notes ADD CONSTRAINT ck_notes_slug CHECK (((slug IS NULL) OR (slug = "
        "slugify(slug))))"}},
      {"ParameterRenamedNeedsDropAndCreate",
       "",
       {"CHANGED function add(integer, integer) definition"},
       {"DROPS_OBJECT"},
       false,
       {{"arguments: \"a integer, b integer\" returns: \"integer\" language: \"sql\" body: "
         "\"SELECT a + b\"",
         "arguments: \"x integer, y integer\" returns: \"integer\" language: \"sql\" body: "
         "\"SELECT x + y\""}},
       {"DROP FUNCTION public.add(integer, integer)",
        "CREATE FUNCTION public.add(x integer, y integer)\n RETURNS integer\n LANGUAGE sql\nAS "
        "'SELECT x + y'"}},
      {"FunctionBecomesSecurityDefiner",
       "",
       {"CHANGED function audit() definition"},
       {"AUTHZ"},
       false,
       {{"body: \"BEGIN RETURN NULL; END\"",
         "body: \"BEGIN RETURN NULL; END\" security_definer: true"}}},
      {"FunctionCommentDropped",
       "COMMENT ON FUNCTION touch_updated_at() IS NULL",
       {"CHANGED function touch_updated_at() comment"},
       {},
       false,
       {},
       {"COMMENT ON FUNCTION public.touch_updated_at() IS 'sets updated_at'"}},
      {"MissingTrigger",
       "DROP TRIGGER trg_notes_touch ON notes",
       {"MISSING trigger notes.trg_notes_touch"},
       {},
       false,
       {},
       {"CREATE TRIGGER trg_notes_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION "
        "touch_updated_at()",
        "COMMENT ON TRIGGER trg_notes_touch ON public.notes IS 'keeps updated_at'"}},
      {"ExtraTrigger",
       "CREATE TRIGGER trg_x BEFORE INSERT ON notes FOR EACH ROW EXECUTE FUNCTION "
       "touch_updated_at()",
       {"EXTRA trigger notes.trg_x"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP TRIGGER trg_x ON public.notes"}},
      {"TriggerEventsChanged",
       "DROP TRIGGER trg_notes_touch ON notes; CREATE TRIGGER trg_notes_touch BEFORE INSERT OR "
       "UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION touch_updated_at(); COMMENT ON TRIGGER "
       "trg_notes_touch ON notes IS 'keeps updated_at'",
       {"CHANGED trigger notes.trg_notes_touch definition"},
       {},
       false,
       {},
       {"CREATE OR REPLACE TRIGGER trg_notes_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE "
        "FUNCTION touch_updated_at()"}},
      {"TriggerDisabled",
       "ALTER TABLE notes DISABLE TRIGGER trg_notes_audit",
       {"CHANGED trigger notes.trg_notes_audit enabled"},
       {},
       false,
       {},
       {"ALTER TABLE public.notes ENABLE TRIGGER trg_notes_audit"}},
      {"TriggerDeclaredReplica",
       "",
       {"CHANGED trigger notes.trg_notes_audit enabled"},
       {},
       false,
       {{"argument: \"notes\"", "argument: \"notes\" enabled: TRIGGER_ENABLED_REPLICA"}}},
      {"ConstraintTriggerChangedIsDroppedAndCreated",
       "DROP TRIGGER trg_notes_check ON notes; CREATE CONSTRAINT TRIGGER trg_notes_check AFTER "
       "INSERT ON notes FOR EACH ROW EXECUTE FUNCTION audit()",
       {"CHANGED trigger notes.trg_notes_check definition"},
       {},
       false,
       {},
       {"DROP TRIGGER trg_notes_check ON public.notes",
        "CREATE CONSTRAINT TRIGGER trg_notes_check AFTER INSERT ON notes DEFERRABLE INITIALLY "
        "DEFERRED FOR EACH ROW EXECUTE FUNCTION audit()"}},
      {"TriggerCommentChanged",
       "COMMENT ON TRIGGER trg_notes_touch ON notes IS 'other'",
       {"CHANGED trigger notes.trg_notes_touch comment"},
       {}},
      // The trigger's condition and the check print the new type's casts:
      // both change with the column, and the trigger is re-created around
      // the type change (PostgreSQL refuses to retype a column a trigger
      // condition reads).
      {"ColumnRetypedUnderATriggerCondition",
       "",
       {"CHANGED column notes.slug type", "CHANGED constraint notes.ck_notes_slug definition",
        "CHANGED trigger notes.trg_notes_slug definition"},
       {"TABLE_REWRITE", "DATA_LOSS", "DROPS_OBJECT", "LONG_LOCK", "VALIDATION"},
       true,
       {{"name: \"slug\" type: \"text\"", "name: \"slug\" type: \"character varying(80)\""}}},
  };
  return *kCases;
}

class RoutineDriftTest : public ::testing::TestWithParam<DriftCase> {};

TEST_P(RoutineDriftTest, ReportsPlansAndConverges) {
  RunDriftCase(kBaseRegistry, kRows, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Cases, RoutineDriftTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<DriftCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace schemad

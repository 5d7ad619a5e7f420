// Drift acceptance cases for views, materialized views and comments (see
// testing/drift.h for what each case asserts): every kind and attribute
// added, dropped and changed, and the dependency cases (a view over a
// column whose type changes or that is dropped, a view over a view).
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
  registry {
    schema: "public"
    enum { name: "tier" label: "free" label: "paid" comment: "billing tiers" }
    sequence { name: "invoice_numbers" comment: "one per invoice" }
  }
  table {
    name: "users"
    comment: "people who sign in"
    column { name: "id" type: "bigint" not_null: true comment: "surrogate key" }
    column { name: "email" type: "character varying(200)" not_null: true }
    column { name: "active" type: "boolean" not_null: true default: "true" }
    column { name: "score" type: "integer" }
    primary_key { name: "pk_users" column: "id" }
    check { name: "ck_users_id_positive" expression: "id > 0" comment: "ids start at 1" }
    index {
      name: "ix_users_active_id"
      key { column: "active" }
      key { column: "id" }
      comment: "for the active list"
    }
  }
  view {
    name: "active_users"
    query: "SELECT id, email FROM users WHERE active"
    security_invoker: true
    comment: "who can sign in"
    column_comment { column: "email" comment: "where we write" }
  }
  view { name: "active_emails" query: "SELECT email FROM active_users" }
  view {
    name: "user_scores"
    materialized: true
    query: "SELECT id, score FROM users"
    index {
      name: "ux_user_scores_id"
      unique: true
      key { column: "id" }
    }
  }
)pb";

// The active_emails view as the base declares it, and with a trigger (its
// function declared too).
constexpr char kEmailsView[] =
    "view { name: \"active_emails\" query: \"SELECT email FROM active_users\" }";
constexpr char kEmailsViewWithTrigger[] =
    "function { name: \"emails_write\" returns: \"trigger\" language: \"plpgsql\" body: "
    "\"BEGIN RETURN NEW; END\" }\n"
    "view { name: \"active_emails\" query: \"SELECT email FROM active_users\" trigger { name: "
    "\"trg_emails_insert\" timing: TRIGGER_TIMING_INSTEAD_OF event: TRIGGER_EVENT_INSERT "
    "for_each_row: true function: \"emails_write\" comment: \"writes through\" } }";

constexpr char kRows[] =
    "INSERT INTO users (id, email, score) VALUES (1, 'a@x', 3), (2, 'b@x', NULL)";

const std::vector<DriftCase>& Cases() {
  static const auto* const kCases = new std::vector<DriftCase>{
      // --- triggers of views --------------------------------------------------
      {"ViewTriggerDeclared",
       "CREATE FUNCTION emails_write() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END'",
       {"MISSING trigger active_emails.trg_emails_insert"},
       {},
       false,
       {{kEmailsView, kEmailsViewWithTrigger}},
       {"CREATE TRIGGER trg_emails_insert INSTEAD OF INSERT ON active_emails FOR EACH ROW EXECUTE "
        "FUNCTION emails_write()",
        "COMMENT ON TRIGGER trg_emails_insert ON public.active_emails IS 'writes through'"}},
      {"ViewTriggerExtraInDatabase",
       "CREATE FUNCTION emails_write() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
       "CREATE TRIGGER trg_emails_insert INSTEAD OF INSERT ON active_emails FOR EACH ROW EXECUTE "
       "FUNCTION emails_write()",
       {"EXTRA trigger active_emails.trg_emails_insert", "EXTRA function emails_write()"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP TRIGGER trg_emails_insert ON public.active_emails",
        "DROP FUNCTION public.emails_write()"}},
      // A view dropped and re-created has its triggers created again.
      {"ViewWithTriggerRecreated",
       "CREATE FUNCTION emails_write() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';"
       "CREATE TRIGGER trg_emails_insert INSTEAD OF INSERT ON active_emails FOR EACH ROW EXECUTE "
       "FUNCTION emails_write(); COMMENT ON TRIGGER trg_emails_insert ON active_emails IS 'writes "
       "through'",
       {"CHANGED view active_emails definition"},
       {"DROPS_OBJECT"},
       false,
       {{kEmailsView, kEmailsViewWithTrigger},
        {"SELECT email FROM active_users\" trigger",
         "SELECT lower(email) AS email FROM "
         "active_users\" trigger"}},
       {"DROP VIEW public.active_emails",
        "CREATE VIEW public.active_emails AS\n SELECT lower(active_users.email::text) AS email\n"
        "   FROM active_users",
        "CREATE TRIGGER trg_emails_insert INSTEAD OF INSERT ON active_emails FOR EACH ROW EXECUTE "
        "FUNCTION emails_write()",
        "COMMENT ON TRIGGER trg_emails_insert ON public.active_emails IS 'writes through'"}},
      {"MissingView",
       "DROP VIEW active_emails",
       {"MISSING view active_emails"},
       {},
       false,
       {},
       {"CREATE VIEW public.active_emails AS\n SELECT active_users.email\n   FROM active_users"}},
      {"MissingViewUnderAnother",
       "DROP VIEW active_users CASCADE",
       {"MISSING view active_users", "MISSING view active_emails"},
       {},
       false,
       {},
       {"CREATE VIEW public.active_users WITH (security_invoker=true) AS\n SELECT users.id,\n"
        "    users.email\n   FROM users\n  WHERE users.active",
        "CREATE VIEW public.active_emails AS\n SELECT active_users.email\n   FROM active_users",
        "COMMENT ON VIEW public.active_users IS 'who can sign in'",
        // A re-created view gets its column comments back too.
        "COMMENT ON COLUMN public.active_users.email IS 'where we write'"}},
      {"ExtraView", "CREATE VIEW stray AS SELECT 1 AS x", {"EXTRA view stray"}, {"DROPS_OBJECT"}},
      {"ExtraViewOverExtraTable",
       "CREATE TABLE legacy (x int); CREATE VIEW legacy_v AS SELECT x FROM legacy",
       {"EXTRA table legacy", "EXTRA view legacy_v"},
       {"DATA_LOSS", "DROPS_OBJECT"}},
      {"ViewQueryChangedCompatibly",
       "CREATE OR REPLACE VIEW active_users WITH (security_invoker=true) AS "
       "SELECT id, email FROM users",
       {"CHANGED view active_users definition"},
       {},
       false,
       {},
       {"CREATE OR REPLACE VIEW public.active_users WITH (security_invoker=true) AS\n"
        " SELECT users.id,\n    users.email\n   FROM users\n  WHERE users.active"}},
      {"ViewColumnsReorderedInRegistry",
       "",
       {"CHANGED view active_users definition"},
       {"DROPS_OBJECT"},
       true,
       {{"SELECT id, email FROM users WHERE active", "SELECT email, id FROM users WHERE active"}}},
      {"ViewOptionTurnedOnInRegistry",
       "",
       {"CHANGED view active_emails options"},
       {},
       false,
       {{"query: \"SELECT email FROM active_users\"",
         "query: \"SELECT email FROM active_users\" security_barrier: true"}}},
      {"ViewLosesSecurityInvoker",
       "",
       {"CHANGED view active_users options"},
       {"AUTHZ"},
       false,
       {{"  security_invoker: true\n", ""}}},
      {"ViewOptionsDriftedInDatabase",
       "ALTER VIEW active_users RESET (security_invoker); "
       "ALTER VIEW active_emails SET (check_option = local)",
       {"CHANGED view active_users options", "CHANGED view active_emails options"},
       {}},
      {"ColumnRetypedUnderViews",
       "",
       {"CHANGED column users.email type", "CHANGED view active_users definition",
        "CHANGED view active_emails definition"},
       {"TABLE_REWRITE", "DROPS_OBJECT"},
       true,
       {{"\"character varying(200)\"", "\"character varying(300)\""}}},
      {"ColumnDroppedUnderMaterializedView",
       "",
       {"EXTRA column users.score", "CHANGED materialized_view user_scores definition"},
       {"DATA_LOSS", "DROPS_OBJECT"},
       true,
       {{"  column { name: \"score\" type: \"integer\" }\n", ""},
        {"SELECT id, score FROM users", "SELECT id FROM users"}}},
      {"ViewBecomesMaterialized",
       "",
       {"CHANGED materialized_view active_emails definition"},
       {"DROPS_OBJECT"},
       false,
       {{"name: \"active_emails\" query:", "name: \"active_emails\" materialized: true query:"}}},
      {"MaterializedViewIndexMissing",
       "DROP INDEX ux_user_scores_id",
       {"MISSING index user_scores.ux_user_scores_id"},
       {},
       true,
       {},
       {"CREATE UNIQUE INDEX ux_user_scores_id ON public.user_scores USING btree (id)"}},
      {"MaterializedViewIndexExtra",
       "CREATE INDEX ix_user_scores_score ON user_scores (score)",
       {"EXTRA index user_scores.ix_user_scores_score"},
       {"DROPS_OBJECT"}},
      {"MaterializedViewQueryChanged",
       "",
       {"CHANGED materialized_view user_scores definition"},
       {"DROPS_OBJECT"},
       true,
       {{"SELECT id, score FROM users", "SELECT id, score FROM users WHERE score IS NOT NULL"}}},
      {"TableCommentChanged",
       "COMMENT ON TABLE users IS 'someone else''s words'",
       {"CHANGED table users comment"},
       {},
       false,
       {},
       {"COMMENT ON TABLE public.users IS 'people who sign in'"}},
      {"ColumnCommentDropped",
       "COMMENT ON COLUMN users.id IS NULL",
       {"CHANGED column users.id comment"},
       {},
       false,
       {},
       {"COMMENT ON COLUMN public.users.id IS 'surrogate key'"}},
      {"ColumnCommentExtra",
       "COMMENT ON COLUMN users.email IS 'not declared'",
       {"CHANGED column users.email comment"},
       {},
       false,
       {},
       {"COMMENT ON COLUMN public.users.email IS NULL"}},
      {"ViewColumnCommentDropped",
       "COMMENT ON COLUMN active_users.email IS NULL",
       {"CHANGED column active_users.email comment"},
       {},
       false,
       {},
       {"COMMENT ON COLUMN public.active_users.email IS 'where we write'"}},
      {"ViewColumnCommentExtra",
       "COMMENT ON COLUMN active_emails.email IS 'stray'",
       {"CHANGED column active_emails.email comment"},
       {},
       false,
       {},
       {"COMMENT ON COLUMN public.active_emails.email IS NULL"}},
      {"ViewCommentChanged",
       "COMMENT ON VIEW active_users IS 'other'",
       {"CHANGED view active_users comment"},
       {}},
      {"IndexCommentDropped",
       "COMMENT ON INDEX ix_users_active_id IS NULL",
       {"CHANGED index users.ix_users_active_id comment"},
       {},
       false,
       {},
       {"COMMENT ON INDEX public.ix_users_active_id IS 'for the active list'"}},
      {"ConstraintCommentChanged",
       "COMMENT ON CONSTRAINT ck_users_id_positive ON users IS 'other'",
       {"CHANGED constraint users.ck_users_id_positive comment"},
       {},
       false,
       {},
       {"COMMENT ON CONSTRAINT ck_users_id_positive ON public.users IS 'ids start at 1'"}},
      {"EnumAndSequenceCommentsDropped",
       "COMMENT ON TYPE tier IS NULL; COMMENT ON SEQUENCE invoice_numbers IS NULL",
       {"CHANGED enum tier comment", "CHANGED sequence invoice_numbers comment"},
       {}},
      {"RecreatedIndexGetsItsCommentBack",
       "DROP INDEX ix_users_active_id; CREATE INDEX ix_users_active_id ON users (id)",
       {"CHANGED index users.ix_users_active_id definition"},
       {"DROPS_OBJECT"},
       false,
       {},
       {"DROP INDEX public.ix_users_active_id",
        "CREATE INDEX ix_users_active_id ON public.users USING btree (active, id)",
        "COMMENT ON INDEX public.ix_users_active_id IS 'for the active list'"}},
      {"MissingEnumAndSequenceGetTheirComments",
       "DROP TYPE tier; DROP SEQUENCE invoice_numbers",
       {"MISSING enum tier", "MISSING sequence invoice_numbers"},
       {}},
      {"IgnoredViewIsLeftAlone",
       "CREATE VIEW reporting_users AS SELECT id FROM users",
       {},
       {},
       false,
       {{"  schema: \"public\"\n", "  schema: \"public\"\n  ignore: \"reporting_*\"\n"}}},
  };
  return *kCases;
}

class ViewDriftTest : public ::testing::TestWithParam<DriftCase> {};

TEST_P(ViewDriftTest, ReportsPlansAndConverges) { RunDriftCase(kBaseRegistry, kRows, GetParam()); }

INSTANTIATE_TEST_SUITE_P(Cases, ViewDriftTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<DriftCase>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace schemad

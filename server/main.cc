// schemad: the schema service.
//
//   schemad serve   [flags]   run the gRPC service
//   schemad check   [--registry DIR] [--database-url URL]
//                              validate a registry (and, with a database,
//                              let PostgreSQL check its SQL); exit 1 if bad
//   schemad inspect --database-url URL --out DIR [--schema S] [--format textproto|sql]
//                              write registry files for what a database has
//
// Every flag can also come from the environment as SCHEMAD_<FLAG> (upper
// case, '-' as '_'); the database URL also from DATABASE_URL. The command
// line wins over the environment.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "schemad/apply/engine.h"
#include "schemad/common/file.h"
#include "schemad/common/status_macros.h"
#include "schemad/db/database.h"
#include "schemad/registry/registry.h"
#include "service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "Address to serve gRPC on. Beyond loopback it needs --tokens-file or "
          "--allow-unauthenticated-remote.");
ABSL_FLAG(std::string, database_url, "",
          "PostgreSQL connection URL or libpq string (also DATABASE_URL). Never logged.");
ABSL_FLAG(std::string, database_url_file, "",
          "File holding the database URL (a URL on the command line is visible to every local "
          "user); instead of --database-url.");
ABSL_FLAG(std::string, registry, "",
          "Registry directory (*.textproto, *.json). Default: the embedded docbot registry.");
ABSL_FLAG(std::string, schema, "", "Target PostgreSQL schema; overrides the registry's.");
ABSL_FLAG(std::string, tokens_file, "",
          "File of `ROLE TOKEN` lines (roles reader, admin). Without it every caller is admin.");
ABSL_FLAG(bool, allow_unauthenticated_remote, false,
          "Serve a non-loopback address without a tokens file (every caller is admin).");
ABSL_FLAG(std::string, tls_cert, "", "PEM server certificate (enables TLS, with --tls-key).");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls-cert.");
ABSL_FLAG(std::string, tls_client_ca, "", "PEM CA that client certificates must chain to (mTLS).");
ABSL_FLAG(absl::Duration, lock_timeout, absl::Seconds(5),
          "PostgreSQL lock_timeout: how long a statement waits for a table lock.");
ABSL_FLAG(absl::Duration, statement_timeout, absl::Minutes(5),
          "PostgreSQL statement_timeout; a caller's deadline lowers it.");
ABSL_FLAG(absl::Duration, connect_timeout, absl::Seconds(2),
          "How long opening a database connection may take.");
ABSL_FLAG(int, max_connections, 4, "Most database connections schemad holds at once.");
ABSL_FLAG(int, max_concurrent_calls, 64,
          "Most RPCs served at once; beyond it calls get RESOURCE_EXHAUSTED (health checks "
          "keep room of their own).");
ABSL_FLAG(std::string, default_mode, "transactional",
          "Mode of Initialize, Diff and Status calls that leave it unspecified: transactional "
          "(all or nothing) or online (changes to tables in use without blocking their "
          "writers; needs session pooling, not PgBouncer's transaction mode).");
ABSL_FLAG(absl::Duration, online_lock_timeout, absl::Seconds(2),
          "Online mode: how long a phase that takes a lock blocking writers waits for it before "
          "it is retried (writers never queue behind it for longer).");
ABSL_FLAG(int, lock_retries, 10,
          "How often a phase (online) or the transaction (transactional) whose lock wait timed out "
          "is retried (exponential back-off with jitter).");
ABSL_FLAG(absl::Duration, lock_retry_max_backoff, absl::Seconds(10),
          "The longest pause between two retries after a lock timeout.");
ABSL_FLAG(absl::Duration, index_build_timeout, absl::Hours(6),
          "Online mode: statement_timeout of a concurrent index build or a validation (they "
          "block no writer); 0 for none.");
ABSL_FLAG(int, index_build_workers, 0,
          "Online mode: parallel workers of a concurrent index build "
          "(max_parallel_maintenance_workers); 0 keeps a build to one core, leaving the others "
          "to the application.");
ABSL_FLAG(int, keep_registries, 50,
          "Published registries kept besides labelled ones and the one applied last; older "
          "unlabelled ones are pruned at each publish.");
ABSL_FLAG(int, registry_cache, 8,
          "Published registries whose canonical form is kept in memory (most recently used).");
ABSL_FLAG(std::string, out, "", "inspect: directory to write registry files into.");
ABSL_FLAG(std::string, format, "textproto",
          "inspect: textproto (one .textproto file per table) or sql (one .sql file per table, "
          "and files of their own for types, sequences, functions, views and foreign keys).");
ABSL_FLAG(bool, replace, false,
          "inspect: replace --out when it exists and is not empty (written beside it, then "
          "swapped in).");

namespace schemad {
namespace {

constexpr char kUsage[] =
    "schemad: PostgreSQL schema management as a gRPC service.\n\n"
    "Usage:\n"
    "  schemad serve [--listen ADDR] [--database-url URL] [--registry DIR] [flags]\n"
    "  schemad check [--registry DIR] [--database-url URL]\n"
    "  schemad inspect --database-url URL --out DIR [--schema NAME] [--format textproto|sql]\n\n"
    "Every flag is also read from SCHEMAD_<FLAG> (e.g. SCHEMAD_TOKENS_FILE); the database\n"
    "URL also from DATABASE_URL. Exit codes: 0 ok, 1 invalid registry or failure, 2 usage.";

// Environment defaults, applied before the command line is parsed.
void ApplyEnvironment() {
  for (const char* name : {"listen",
                           "database_url",
                           "database_url_file",
                           "registry",
                           "schema",
                           "tokens_file",
                           "allow_unauthenticated_remote",
                           "tls_cert",
                           "tls_key",
                           "tls_client_ca",
                           "lock_timeout",
                           "statement_timeout",
                           "connect_timeout",
                           "max_connections",
                           "max_concurrent_calls",
                           "out",
                           "format",
                           "replace",
                           "default_mode",
                           "online_lock_timeout",
                           "lock_retries",
                           "lock_retry_max_backoff",
                           "index_build_timeout",
                           "index_build_workers",
                           "keep_registries",
                           "registry_cache"}) {
    std::string env = absl::StrCat("SCHEMAD_", absl::AsciiStrToUpper(name));
    const char* value = std::getenv(env.c_str());
    if (value == nullptr && std::string(name) == "database_url")
      value = std::getenv("DATABASE_URL");
    if (value == nullptr) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    std::string error;
    if (flag != nullptr && !flag->ParseFrom(value, &error)) {
      std::cerr << "schemad: " << env << ": " << error << "\n";
      std::exit(2);
    }
  }
}

// --help: every flag of this file with its default, spelled with dashes.
void PrintHelp() {
  std::cout << kUsage << "\n\nFlags:\n";
  std::vector<std::pair<std::string, std::string>> lines;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!absl::EndsWith(flag->Filename(), "server/main.cc")) continue;
    std::string dashed = std::string(name);
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    const std::string env = absl::StrCat("SCHEMAD_", absl::AsciiStrToUpper(name));
    lines.emplace_back(
        dashed, absl::StrCat("  --", dashed, "  (default: \"", flag->DefaultValue(), "\"; env ",
                             env, name == "database_url" ? " or DATABASE_URL" : "", ")\n      ",
                             flag->Help(), "\n"));
  }
  std::sort(lines.begin(), lines.end());
  for (const auto& [name, text] : lines) std::cout << text;
}

absl::StatusOr<Registry> LoadConfiguredRegistry() {
  const std::string dir = absl::GetFlag(FLAGS_registry);
  absl::StatusOr<Registry> registry = dir.empty() ? LoadEmbeddedRegistry() : LoadRegistryDir(dir);
  if (!registry.ok()) return registry;
  const std::string schema = absl::GetFlag(FLAGS_schema);
  if (!schema.empty()) {
    const absl::Status usable = CheckTargetSchemaName(schema);
    if (!usable.ok()) return Annotate(usable, "--schema");
  }
  return WithSchema(*std::move(registry), schema);
}

bool DatabaseConfigured() {
  return !absl::GetFlag(FLAGS_database_url).empty() ||
         !absl::GetFlag(FLAGS_database_url_file).empty();
}

// The database URL from --database-url or --database-url-file (one of them).
absl::StatusOr<std::string> DatabaseUrl() {
  const std::string file = absl::GetFlag(FLAGS_database_url_file);
  if (file.empty()) return absl::GetFlag(FLAGS_database_url);
  if (!absl::GetFlag(FLAGS_database_url).empty()) {
    return absl::InvalidArgumentError(
        "--database-url and --database-url-file both given (DATABASE_URL counts as "
        "--database-url): keep one");
  }
  absl::StatusOr<std::string> read = ReadBoundedFile(file, 64 << 10, "database URL file");
  if (!read.ok()) return Annotate(read.status(), "--database-url-file");
  std::string url = *std::move(read);
  while (!url.empty() && (url.back() == '\n' || url.back() == '\r' || url.back() == ' ')) {
    url.pop_back();
  }
  return url;
}

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase() {
  // schemad always bounds its statements and lock waits: 0 would mean
  // "wait forever" to PostgreSQL.
  for (const auto& [flag, value] :
       {std::pair<const char*, absl::Duration>{"--lock-timeout", absl::GetFlag(FLAGS_lock_timeout)},
        {"--statement-timeout", absl::GetFlag(FLAGS_statement_timeout)},
        {"--connect-timeout", absl::GetFlag(FLAGS_connect_timeout)}}) {
    if (value < absl::Milliseconds(1)) {
      return absl::InvalidArgumentError(absl::StrCat(flag, " must be at least 1ms (got ",
                                                     absl::FormatDuration(value),
                                                     "); schemad always bounds its waits"));
    }
  }
  DatabaseOptions options;
  SCHEMAD_ASSIGN_OR_RETURN(options.url, DatabaseUrl());
  options.max_connections = absl::GetFlag(FLAGS_max_connections);
  options.lock_timeout = absl::GetFlag(FLAGS_lock_timeout);
  options.statement_timeout = absl::GetFlag(FLAGS_statement_timeout);
  options.connect_timeout = absl::GetFlag(FLAGS_connect_timeout);
  return Database::Create(options);
}

int Check() {
  absl::StatusOr<Registry> registry = LoadConfiguredRegistry();
  if (!registry.ok()) {
    std::cerr << registry.status().message() << "\n";
    return 1;
  }
  if (DatabaseConfigured()) {
    absl::StatusOr<std::unique_ptr<Database>> db = OpenDatabase();
    if (!db.ok()) {
      std::cerr << "schemad: " << db.status().message() << "\n";
      return 2;
    }
    Engine engine(db->get(), *registry);
    absl::StatusOr<Schema> desired = engine.Desired(absl::Now() + absl::Minutes(1));
    if (!desired.ok()) {
      std::cerr << desired.status().message() << "\n";
      return 1;
    }
  }
  // Objects declared in textproto or JSON; SQL files' statements counted
  // as statements (what they create is known once PostgreSQL ran them).
  std::cout << "registry " << registry->origin << " is valid: " << registry->schema.tables.size()
            << " tables, " << registry->schema.enums.size() << " enum types, "
            << registry->schema.views.size() << " views, " << registry->schema.functions.size()
            << " functions";
  if (!registry->sql.empty()) std::cout << ", " << registry->sql.size() << " SQL statements";
  std::cout << " (schema " << registry->schema.name << ", fingerprint " << registry->fingerprint
            << ")\n";
  return 0;
}

int Inspect() {
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty() || !DatabaseConfigured()) {
    std::cerr << "schemad inspect: needs --database-url and --out\n";
    return 2;
  }
  absl::StatusOr<std::unique_ptr<Database>> db = OpenDatabase();
  if (!db.ok()) {
    std::cerr << "schemad: " << db.status().message() << "\n";
    return 2;
  }
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "textproto" && format != "sql") {
    std::cerr << "schemad inspect: --format is textproto or sql, not \"" << format << "\"\n";
    return 2;
  }
  Registry target;
  target.schema.name = absl::GetFlag(FLAGS_schema).empty() ? "public" : absl::GetFlag(FLAGS_schema);
  Engine engine(db->get(), target);
  absl::StatusOr<Schema> live = engine.Inspect(absl::Now() + absl::Minutes(1));
  if (!live.ok()) {
    std::cerr << "schemad inspect: " << live.status().message() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<std::string>> written = WriteRegistryDir(
      *live, out,
      {.replace = absl::GetFlag(FLAGS_replace),
       .format = format == "sql" ? RegistryFormat::kSql : RegistryFormat::kTextproto});
  if (!written.ok()) {
    std::cerr << "schemad inspect: " << written.status().message() << "\n";
    return 1;
  }
  std::cout << "wrote " << written->size() << " registry files to " << out << " ("
            << live->tables.size() << " tables, " << live->enums.size() << " enum types)\n";
  return 0;
}

int Serve() {
  absl::StatusOr<Registry> registry = LoadConfiguredRegistry();
  if (!registry.ok()) {
    std::cerr << "schemad: refusing to start: " << registry.status().message() << "\n";
    return 1;
  }
  ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.tokens_file = absl::GetFlag(FLAGS_tokens_file);
  options.allow_unauthenticated_remote = absl::GetFlag(FLAGS_allow_unauthenticated_remote);
  options.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  options.max_concurrent_calls = absl::GetFlag(FLAGS_max_concurrent_calls);
  options.schema = absl::GetFlag(FLAGS_schema);
  options.keep_registries = absl::GetFlag(FLAGS_keep_registries);
  options.registry_cache = absl::GetFlag(FLAGS_registry_cache);
  if (options.keep_registries < 1 || options.registry_cache < 1) {
    std::cerr << "schemad: refusing to start: --keep-registries and --registry-cache must be at "
                 "least 1\n";
    return 1;
  }
  const std::string mode = absl::AsciiStrToLower(absl::GetFlag(FLAGS_default_mode));
  if (mode == "online") {
    options.default_mode = ApplyMode::kOnline;
  } else if (mode != "transactional") {
    std::cerr << "schemad: refusing to start: --default-mode: \"" << mode
              << "\" is neither transactional nor online\n";
    return 1;
  }
  EngineOptions engine_options;
  engine_options.online_lock_timeout = absl::GetFlag(FLAGS_online_lock_timeout);
  engine_options.lock_retries = absl::GetFlag(FLAGS_lock_retries);
  engine_options.lock_retry_max_backoff = absl::GetFlag(FLAGS_lock_retry_max_backoff);
  engine_options.index_build_timeout = absl::GetFlag(FLAGS_index_build_timeout);
  engine_options.index_build_workers = absl::GetFlag(FLAGS_index_build_workers);
  if (engine_options.online_lock_timeout < absl::Milliseconds(1) ||
      engine_options.lock_retries < 0 || engine_options.index_build_workers < 0 ||
      engine_options.index_build_timeout < absl::ZeroDuration()) {
    std::cerr << "schemad: refusing to start: --online-lock-timeout must be at least 1ms, "
                 "--lock-retries and --index-build-timeout not negative\n";
    return 1;
  }
  if (absl::Status valid = ValidateServerOptions(options); !valid.ok()) {
    std::cerr << "schemad: refusing to start: " << valid.message() << "\n";
    return 1;
  }
  absl::StatusOr<std::unique_ptr<Database>> db = OpenDatabase();
  if (!db.ok()) {
    std::cerr << "schemad: refusing to start: " << db.status().message() << "\n";
    return 1;
  }
  Engine engine(db->get(), *registry, engine_options);
  // Least privilege, checked once at start (the database may be down:
  // then readiness reports it).
  absl::StatusOr<std::vector<std::string>> privileges =
      engine.CheckPrivileges(absl::Now() + absl::Seconds(5));
  if (privileges.ok()) {
    for (const std::string& w : *privileges) std::cerr << "schemad: warning: " << w << "\n";
  }
  absl::StatusOr<std::unique_ptr<RunningServer>> server = StartServer(options, &engine);
  if (!server.ok()) {
    std::cerr << "schemad: refusing to start: " << server.status().message() << "\n";
    return 1;
  }
  std::cerr << "schemad: serving registry " << registry->origin << " (schema "
            << registry->schema.name << ", " << registry->schema.tables.size() << " tables) on "
            << options.listen << " (port " << (*server)->port() << ")"
            << (options.tokens_file.empty() ? ", no tokens: every caller is admin" : "")
            << (options.tls_cert.empty() ? "" : ", TLS") << std::endl;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  std::cerr << "schemad: signal " << signal_number << ", finishing in-flight calls" << std::endl;
  (*server)->Shutdown(absl::Seconds(30));
  std::cerr << "schemad: stopped" << std::endl;
  return 0;
}

}  // namespace
}  // namespace schemad

int main(int argc, char** argv) {
  // Block the shutdown signals in every thread before gRPC starts any; the
  // main thread takes them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::SetProgramUsageMessage(schemad::kUsage);
  schemad::ApplyEnvironment();
  // Flags are spelled with dashes (--database-url); Abseil names them with
  // underscores. Rewrite the name part, never the value.
  std::vector<std::string> storage(argv, argv + argc);
  for (std::string& arg : storage) {
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h" || arg == "help") {
      schemad::PrintHelp();
      return 0;
    }
    if (arg.rfind("--", 0) != 0) continue;
    const size_t end = std::min(arg.find('='), arg.size());
    std::replace(arg.begin() + 2, arg.begin() + end, '-', '_');
  }
  std::vector<char*> rewritten;
  for (std::string& arg : storage) rewritten.push_back(arg.data());
  std::vector<char*> args =
      absl::ParseCommandLine(static_cast<int>(rewritten.size()), rewritten.data());
  if (args.size() != 2) {
    std::cerr << schemad::kUsage << "\n";
    return 2;
  }
  const std::string command = args[1];
  if (command == "serve") return schemad::Serve();
  // check and inspect start no gRPC threads: SIGINT and SIGTERM stop them.
  pthread_sigmask(SIG_UNBLOCK, &signals, nullptr);
  if (command == "check") return schemad::Check();
  if (command == "inspect") return schemad::Inspect();
  std::cerr << "schemad: unknown command \"" << command << "\"\n\n" << schemad::kUsage << "\n";
  return 2;
}

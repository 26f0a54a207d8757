//! A throwaway PostgreSQL server for tests: initdb into a temp dir, start on a free
//! loopback port, one database; stopped and removed on drop. Runs the server as the
//! `postgres` user when we are root (PostgreSQL refuses to run as root).

use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A PostgreSQL server of the test's own.
pub struct TestPg {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    pub port: u16,
    pub url: String,
}

/// `/usr/lib/postgresql/<newest>/bin`, or `$PG_BIN`.
fn pg_bin() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os("PG_BIN") {
        return Some(b.into());
    }
    let mut bins: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    bins.sort();
    bins.pop().map(|(_, b)| b)
}

/// Imports the rules of `dir` into the database at `url` as `claimscrub rules import` does,
/// checking each against the bundled tables. Blocks: call it off the async runtime.
pub fn import(url: &str, dir: &Path) -> claimscrub::store::transfer::ImportReport {
    use claimscrub::rules::RuleSource;
    let store = claimscrub::store::PgStore::connect(url).expect("connect");
    let tables = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/tables.toml");
    let checker = claimscrub::runtime::Runtime::build(claimscrub::runtime::RuntimeSpec::for_dir(
        dir,
        Some(&tables),
    ))
    .unwrap();
    let files = checker.source.list().unwrap();
    let live = store.list().unwrap();
    claimscrub::store::transfer::import(&files, &live, &store, &checker.registry, "ci").unwrap()
}

fn free_port() -> io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl TestPg {
    /// A server for this test, or `None` after a SKIPPED line where PostgreSQL is not
    /// installed — unless `CLAIMSCRUB_REQUIRE_PG` is set (CI), where that is a failure.
    pub fn start_or_skip() -> Option<TestPg> {
        match TestPg::start("claimscrub") {
            Ok(Some(pg)) => Some(pg),
            Ok(None) if std::env::var_os("CLAIMSCRUB_REQUIRE_PG").is_none() => {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "SKIPPED: PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb)"
                );
                None
            }
            Ok(None) => panic!("CLAIMSCRUB_REQUIRE_PG is set but PostgreSQL is not installed"),
            Err(e) => panic!("cannot start PostgreSQL: {e}"),
        }
    }

    /// `Ok(None)` when PostgreSQL is not installed (the caller skips its test).
    pub fn start(db: &str) -> io::Result<Option<TestPg>> {
        let Some(bin) = pg_bin() else { return Ok(None) };
        // Short path: the Unix socket path (dir + "/.s.PGSQL.NNNNN") must stay < 108 bytes.
        let dir = std::env::temp_dir().join(format!(
            "cspg-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000
        ));
        std::fs::create_dir(&dir)?;
        let as_postgres = std::fs::metadata(&dir)?.uid() == 0; // we are root
        if as_postgres {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let mut pg = TestPg {
            dir,
            bin,
            as_postgres,
            port: 0,
            url: String::new(),
        };
        let data = pg.dir.join("data");
        pg.run_pg(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-locale".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        let mut last = None;
        for _ in 0..3 {
            pg.port = free_port()?;
            match pg.start_server() {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e), // port taken in between: try another
            }
        }
        if let Some(e) = last {
            return Err(e);
        }
        let port = pg.port.to_string();
        pg.run_pg(
            "createdb",
            &[
                "-h".as_ref(),
                "127.0.0.1".as_ref(),
                "-p".as_ref(),
                port.as_ref(),
                "-U".as_ref(),
                "postgres".as_ref(),
                db.as_ref(),
            ],
        )?;
        pg.url = format!("postgres://postgres@127.0.0.1:{}/{db}", pg.port);
        Ok(Some(pg))
    }

    fn run_pg(&self, prog: &str, args: &[&std::ffi::OsStr]) -> io::Result<()> {
        let exe = self.bin.join(prog);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        cmd.args(args).current_dir(&self.dir); // cwd readable by postgres
        run(&mut cmd)
    }

    /// The server's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Turns TLS on with this certificate and key (PEM), reloading the running server.
    pub fn enable_tls(&self, cert_pem: &str, key_pem: &str) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let data = self.dir.join("data");
        let (cert, key) = (data.join("server.crt"), data.join("server.key"));
        std::fs::write(&cert, cert_pem)?;
        std::fs::write(&key, key_pem)?;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
        if self.as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(&cert)
                .arg(&key))?;
        }
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))?;
        std::io::Write::write_all(
            &mut conf,
            b"ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        )?;
        self.run_pg(
            "pg_ctl",
            &["-D".as_ref(), data.as_os_str(), "reload".as_ref()],
        )?;
        std::thread::sleep(std::time::Duration::from_millis(300));
        Ok(())
    }

    /// Stops the server (fast shutdown), keeping its data.
    pub fn stop(&self) -> io::Result<()> {
        let data = self.dir.join("data");
        self.run_pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "fast".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
    }

    /// Starts it again on the same port.
    pub fn restart(&self) -> io::Result<()> {
        self.start_server()
    }

    /// `pg_ctl start` on this server's port and socket directory, waiting until it accepts.
    fn start_server(&self) -> io::Result<()> {
        let data = self.dir.join("data");
        let log = self.dir.join("server.log");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        let args: [&std::ffi::OsStr; 10] = [
            "-D".as_ref(),
            data.as_os_str(),
            "-l".as_ref(),
            log.as_os_str(),
            "-w".as_ref(),
            "-t".as_ref(),
            "30".as_ref(),
            "-o".as_ref(),
            opts.as_ref(),
            "start".as_ref(),
        ];
        self.run_pg("pg_ctl", &args)
    }
}

fn run(cmd: &mut Command) -> io::Result<()> {
    let out = cmd.stdin(Stdio::null()).output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

impl Drop for TestPg {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self.run_pg(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

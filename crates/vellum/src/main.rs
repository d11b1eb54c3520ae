//! The `vellum` command. All the work is in the library; this only reports
//! errors the way a command line should.

fn main() -> std::process::ExitCode {
    match vellum::cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vellum: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

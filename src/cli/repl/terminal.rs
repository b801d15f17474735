//! The shell's terminal while it runs: Ctrl-C must not make the terminal throw away output.
//!
//! By default a terminal that turns Ctrl-C into an interrupt also discards the output that
//! is written but not yet shown (unless NOFLSH is set). For the shell that loses rows of a
//! push query mid-line, and on a pseudo-terminal whose buffer is full it can leave kql's
//! write waiting for a wake-up that never comes: the reader has nothing left to read, so
//! the query never gets to see its Ctrl-C. With NOFLSH the rows already written stay on
//! the screen and the query stops after the row it is writing. The line editor keeps the
//! flag: it saves and restores the terminal's settings around each line it reads.

/// Sets NOFLSH on the terminal of stdin while it lives; restores the settings on drop.
pub struct KeepOutputOnInterrupt {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl KeepOutputOnInterrupt {
    #[cfg(unix)]
    pub fn new() -> KeepOutputOnInterrupt {
        // SAFETY: tcgetattr and tcsetattr only read and write the termios value given;
        // on a descriptor that is not a terminal they fail and nothing is changed.
        let saved = unsafe {
            let mut settings: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut settings) != 0 {
                None
            } else {
                let saved = settings;
                settings.c_lflag |= libc::NOFLSH;
                (libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &settings) == 0)
                    .then_some(saved)
            }
        };
        KeepOutputOnInterrupt { saved }
    }

    #[cfg(not(unix))]
    pub fn new() -> KeepOutputOnInterrupt {
        KeepOutputOnInterrupt {}
    }
}

impl Drop for KeepOutputOnInterrupt {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = &self.saved {
            // SAFETY: as in `new`; `saved` came from tcgetattr on the same descriptor.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, saved);
            }
        }
    }
}

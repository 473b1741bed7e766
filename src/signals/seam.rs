//! The hub's lock, behind one seam so that a model checker can take its
//! place. (Test plumbing: skip it on a first reading.)
//!
//! In the programs, and in every test but one, these are the standard
//! library's lock and the crate's `lock`, re-exported: no code of their own
//! runs. `cargo test --features loom` adds loom's lock beside them, and the
//! model of the hub (beside the hub's tests) builds its hubs with it, so
//! that loom sees every moment a thread takes or lets go of the lock, and
//! runs the hub's threads in every order those moments allow
//! (`docs/contributing.md` says how to run it). The trigger needs no seam:
//! the hub decides under its lock, never from the trigger's channel, which
//! loom could not see (a plain test beside the model holds that window
//! open instead).

#[cfg(not(all(test, feature = "loom")))]
pub(super) use {crate::lock, std::sync::Mutex, std::sync::OnceLock};

#[cfg(test)]
#[cfg(feature = "loom")]
pub(super) use {either::lock, either::Mutex, std::sync::OnceLock};

/// A lock that is the standard library's (every test but the model) or
/// loom's (the model).
#[cfg(test)]
#[cfg(feature = "loom")]
mod either {
    use std::ops::{Deref, DerefMut};
    use std::sync::PoisonError;

    pub enum Mutex<T> {
        Std(std::sync::Mutex<T>),
        Loom(loom::sync::Mutex<T>),
    }

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Mutex<T> {
            Mutex::Std(std::sync::Mutex::new(value))
        }

        /// A lock loom sees: only inside `loom::model`.
        pub fn loom(value: T) -> Mutex<T> {
            Mutex::Loom(loom::sync::Mutex::new(value))
        }
    }

    impl<T> std::fmt::Debug for Mutex<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(match self {
                Mutex::Std(_) => "Mutex(std)",
                Mutex::Loom(_) => "Mutex(loom)",
            })
        }
    }

    pub enum Guard<'a, T> {
        Std(std::sync::MutexGuard<'a, T>),
        Loom(loom::sync::MutexGuard<'a, T>),
    }

    impl<T> Deref for Guard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            match self {
                Guard::Std(guard) => guard,
                Guard::Loom(guard) => guard,
            }
        }
    }

    impl<T> DerefMut for Guard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            match self {
                Guard::Std(guard) => guard,
                Guard::Loom(guard) => guard,
            }
        }
    }

    /// Locks either kind, even if a thread panicked while holding it.
    pub fn lock<T>(mutex: &Mutex<T>) -> Guard<'_, T> {
        match mutex {
            Mutex::Std(mutex) => Guard::Std(mutex.lock().unwrap_or_else(PoisonError::into_inner)),
            Mutex::Loom(mutex) => Guard::Loom(mutex.lock().unwrap_or_else(PoisonError::into_inner)),
        }
    }
}

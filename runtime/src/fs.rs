//! Files on the blocking pool (what asyncio users get from `aiofiles`): each function
//! runs the `std::fs` call on the loop's blocking pool
//! ([`run_in_executor`](crate::run_in_executor)) so the loop keeps running while the
//! disk works. Regular files cannot be driven by epoll (they are always "ready"), which
//! is why every runtime does file I/O on threads.
//!
//! # Examples
//!
//! ```
//! runtime::run(async {
//!     let dir = std::env::temp_dir().join(format!("runtime-fs-doc-{}", std::process::id()));
//!     runtime::fs::create_dir_all(&dir).await.unwrap();
//!     let path = dir.join("greeting.txt");
//!     runtime::fs::write(&path, "hello").await.unwrap();
//!     assert_eq!(runtime::fs::read_to_string(&path).await.unwrap(), "hello");
//!     runtime::fs::remove_dir_all(&dir).await.unwrap();
//! });
//! ```

use std::fs::{Metadata, Permissions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Runs `f` on the blocking pool; a pool failure (a panic in `f`, a pool shut down)
/// becomes an `io::Error`.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    crate::run_in_executor(f).await.map_err(io::Error::other)?
}

macro_rules! path_fns {
    ($( $(#[$m:meta])* $name:ident($($arg:ident),*) -> $ret:ty; )*) => {$(
        $(#[$m])*
        ///
        /// # Errors
        ///
        /// The error of the `std::fs` function of the same name.
        pub async fn $name($($arg: impl AsRef<Path>),*) -> io::Result<$ret> {
            $(let $arg = $arg.as_ref().to_owned();)*
            blocking(move || std::fs::$name($(&$arg),*)).await
        }
    )*};
}

path_fns! {
    /// Reads a whole file into bytes.
    read(path) -> Vec<u8>;
    /// Reads a whole file as UTF-8.
    read_to_string(path) -> String;
    /// Creates a directory.
    create_dir(path) -> ();
    /// Creates a directory and its missing parents.
    create_dir_all(path) -> ();
    /// Removes a file.
    remove_file(path) -> ();
    /// Removes an empty directory.
    remove_dir(path) -> ();
    /// Removes a directory and everything in it.
    remove_dir_all(path) -> ();
    /// Renames a file or directory (replacing `to` if it is a file).
    rename(from, to) -> ();
    /// Copies a file's contents and permissions; returns the number of bytes copied.
    copy(from, to) -> u64;
    /// Creates a hard link `to` pointing at `from`.
    hard_link(from, to) -> ();
    /// The metadata of a path (following symlinks).
    metadata(path) -> Metadata;
    /// The metadata of a path (not following symlinks).
    symlink_metadata(path) -> Metadata;
    /// The absolute path with symlinks resolved.
    canonicalize(path) -> PathBuf;
    /// What a symlink points at.
    read_link(path) -> PathBuf;
}

/// Writes `contents` to a file, creating or truncating it.
///
/// # Errors
///
/// The error of `std::fs::write`.
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    let contents = contents.as_ref().to_owned();
    blocking(move || std::fs::write(path, contents)).await
}

/// Whether a path exists (`Err` if that cannot be told, e.g. permission denied).
///
/// # Errors
///
/// The error of `std::fs::exists`.
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    let path = path.as_ref().to_owned();
    blocking(move || std::fs::exists(path)).await
}

/// Sets a path's permissions.
///
/// # Errors
///
/// The error of `std::fs::set_permissions`.
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    let path = path.as_ref().to_owned();
    blocking(move || std::fs::set_permissions(path, perm)).await
}

/// The entries of a directory (names, paths and file types), read in one go.
///
/// # Errors
///
/// The error of `std::fs::read_dir` or of reading an entry.
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<Vec<DirEntry>> {
    let path = path.as_ref().to_owned();
    blocking(move || {
        std::fs::read_dir(path)?
            .map(|e| {
                let e = e?;
                Ok(DirEntry {
                    path: e.path(),
                    file_type: e.file_type()?,
                })
            })
            .collect()
    })
    .await
}

/// One entry from [`read_dir`].
#[derive(Debug, Clone)]
pub struct DirEntry {
    path: PathBuf,
    file_type: std::fs::FileType,
}

impl DirEntry {
    /// The entry's full path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The entry's file name.
    pub fn file_name(&self) -> &std::ffi::OsStr {
        self.path.file_name().unwrap_or_default()
    }

    /// The entry's type (file, directory, symlink), without following symlinks.
    pub fn file_type(&self) -> std::fs::FileType {
        self.file_type
    }
}

/// An open file whose operations run on the blocking pool (aiofiles' file object). Each
/// call moves the file to a pool thread and back, so calls on one `File` run one at a
/// time, in order; a call dropped before it finished leaves the file with the pool job
/// and later calls fail with a clear error.
///
/// # Examples
///
/// ```
/// use runtime::fs::File;
///
/// runtime::run(async {
///     let path = std::env::temp_dir().join(format!("runtime-file-doc-{}", std::process::id()));
///     let mut f = File::create(&path).await.unwrap();
///     f.write_all(b"line one\n").await.unwrap();
///     f.sync_all().await.unwrap();
///     let mut f = File::open(&path).await.unwrap();
///     assert_eq!(f.read_to_string().await.unwrap(), "line one\n");
///     runtime::fs::remove_file(&path).await.unwrap();
/// });
/// ```
#[derive(Debug)]
pub struct File {
    inner: Option<std::fs::File>,
}

impl File {
    /// Opens a file for reading.
    ///
    /// # Errors
    ///
    /// The error of `std::fs::File::open` (e.g. `NotFound`).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        Ok(File::from_std(
            blocking(move || std::fs::File::open(path)).await?,
        ))
    }

    /// Creates (or truncates) a file for writing.
    ///
    /// # Errors
    ///
    /// The error of `std::fs::File::create`.
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        Ok(File::from_std(
            blocking(move || std::fs::File::create(path)).await?,
        ))
    }

    /// Opens a file with `options` (`std::fs::OpenOptions`: append, read+write...).
    ///
    /// # Errors
    ///
    /// The open error.
    pub async fn open_with(
        path: impl AsRef<Path>,
        options: std::fs::OpenOptions,
    ) -> io::Result<File> {
        let path = path.as_ref().to_owned();
        Ok(File::from_std(blocking(move || options.open(path)).await?))
    }

    /// Wraps an open `std` file.
    pub fn from_std(file: std::fs::File) -> File {
        File { inner: Some(file) }
    }

    /// Runs `f` with the file on the pool and takes the file back.
    async fn with<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut std::fs::File) -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let mut file = self.inner.take().ok_or_else(|| {
            io::Error::other("runtime::fs::File: an earlier operation on this file was cancelled mid-way; reopen the file")
        })?;
        let (file, r) = crate::run_in_executor(move || {
            let r = f(&mut file);
            (file, r)
        })
        .await
        .map_err(io::Error::other)?;
        self.inner = Some(file);
        r
    }

    /// Reads up to `n` bytes (fewer at end of file; empty at end of file).
    ///
    /// # Errors
    ///
    /// The read error.
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        self.with(move |f| {
            let mut buf = vec![0; n];
            let k = f.read(&mut buf)?;
            buf.truncate(k);
            Ok(buf)
        })
        .await
    }

    /// Reads from the current position to the end.
    ///
    /// # Errors
    ///
    /// The read error.
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        self.with(|f| {
            let mut v = Vec::new();
            f.read_to_end(&mut v)?;
            Ok(v)
        })
        .await
    }

    /// Reads from the current position to the end as UTF-8.
    ///
    /// # Errors
    ///
    /// The read error, or `InvalidData`.
    pub async fn read_to_string(&mut self) -> io::Result<String> {
        self.with(|f| {
            let mut s = String::new();
            f.read_to_string(&mut s)?;
            Ok(s)
        })
        .await
    }

    /// Writes all of `data`.
    ///
    /// # Errors
    ///
    /// The write error.
    pub async fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        let data = data.to_owned();
        self.with(move |f| f.write_all(&data)).await
    }

    /// Moves the position; returns the new offset from the start.
    ///
    /// # Errors
    ///
    /// The seek error.
    pub async fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.with(move |f| f.seek(pos)).await
    }

    /// Flushes data and metadata to the disk (`fsync`).
    ///
    /// # Errors
    ///
    /// The sync error.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        self.with(|f| f.sync_all()).await
    }

    /// Truncates or extends the file to `size` bytes.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.with(move |f| f.set_len(size)).await
    }

    /// The file's metadata.
    ///
    /// # Errors
    ///
    /// The OS error.
    pub async fn metadata(&mut self) -> io::Result<Metadata> {
        self.with(|f| f.metadata()).await
    }

    /// The `std` file (`None` if an operation on it was cancelled mid-way).
    pub fn into_std(self) -> Option<std::fs::File> {
        self.inner
    }
}

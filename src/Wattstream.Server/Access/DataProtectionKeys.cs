using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;
using Wattstream.Storage;

namespace Wattstream.Server.Access;

/// <summary>
/// ASP.NET Core's data-protection keys (what it would protect cookies and antiforgery tokens with) live in the data
/// directory, <c>data-protection-keys/</c>, so whatever they protect survives a restart and the keys never land in the
/// user's profile beside another hub's. Protected at rest by the platform where it has a means: DPAPI on Windows. Linux
/// has none built in, so there the files are the owner's only (folder 0700, files 0600) and stored unencrypted: that is
/// chosen explicitly (<see cref="NullXmlEncryptor"/>), so ASP.NET Core does not warn at every first start that no
/// encryptor was configured. A certificate (<c>ProtectKeysWithCertificate</c>) would only move the secret to another file.
/// </summary>
public static class DataProtectionKeys
{
    public const string FolderName = "data-protection-keys";

    private const UnixFileMode OwnerOnlyFolder = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static IServiceCollection AddWattstreamDataProtection(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("wattstream");
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<StorageOptions>, ILoggerFactory>((keys, storage, loggers) =>
        {
            keys.XmlRepository = new OwnerOnlyXmlRepository(Folder(storage.Value), loggers);
            keys.XmlEncryptor = OperatingSystem.IsWindows()
                ? new DpapiXmlEncryptor(protectToLocalMachine: false, loggers)
                : new NullXmlEncryptor(); // no logger: its "not protected" line is this choice, documented in docs/security.md
        });
        return services;
    }

    public static string Folder(StorageOptions storage) => Path.Combine(storage.ResolveDataDirectory(), FolderName);

    /// <summary>
    /// The file repository, with the folder and every key file the owner's only (ACLs rule on Windows). The folder is made
    /// at the first key, not when the repository is: <c>config check</c> builds every service and must touch no disk.
    /// </summary>
    private sealed class OwnerOnlyXmlRepository(string folder, ILoggerFactory loggers) : FileSystemXmlRepository(new DirectoryInfo(folder), loggers)
    {
        public override void StoreElement(XElement element, string friendlyName)
        {
            if (OperatingSystem.IsWindows())
            {
                base.StoreElement(element, friendlyName);
                return;
            }

            System.IO.Directory.CreateDirectory(folder, OwnerOnlyFolder);
            File.SetUnixFileMode(folder, OwnerOnlyFolder); // also when it existed with wider modes
            base.StoreElement(element, friendlyName);
            foreach (var file in Directory.EnumerateFiles("*.xml"))
            {
                file.UnixFileMode = OwnerOnlyFile;
            }
        }
    }
}

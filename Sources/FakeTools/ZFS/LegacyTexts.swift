/// Texts of the legacy zfs-fuse 0.7.0 tools (pool version 23), as they print them.
enum LegacyTexts {
    /// The command list `zfs` prints after `usage: zfs command args ...`.
    static let zfsCommands = #"""

	create [-p] [-o property=value] ... <filesystem>
	create [-ps] [-b blocksize] [-o property=value] ... -V <size> <volume>
	destroy [-rRf] <filesystem|volume>
	destroy [-rRd] <snapshot>

	snapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>
	rollback [-rRf] <snapshot>
	clone [-p] [-o property=value] ... <snapshot> <filesystem|volume>
	promote <clone-filesystem>
	rename <filesystem|volume|snapshot> <filesystem|volume|snapshot>
	rename -p <filesystem|volume> <filesystem|volume>
	rename -r <snapshot> <snapshot>
	list [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...
	    [-S property] ... [filesystem|volume|snapshot] ...

	set <property=value> <filesystem|volume|snapshot> ...
	get [-rHp] [-d max] [-o "all" | field[,...]] [-s source[,...]]
	    <"all" | property[,...]> [filesystem|volume|snapshot] ...
	inherit [-rS] <property> <filesystem|volume|snapshot> ...
	upgrade [-v]
	upgrade [-r] [-V version] <-a | filesystem ...>
	userspace [-hniHp] [-o field[,...]] [-sS field] ... [-t type[,...]]
	    <filesystem|snapshot>
	groupspace [-hniHpU] [-o field[,...]] [-sS field] ... [-t type[,...]]
	    <filesystem|snapshot>

	mount
	mount [-vO] [-o opts] <-a | filesystem>
	unmount [-f] <-a | filesystem|mountpoint>
	share <-a | filesystem>
	unshare <-a | filesystem|mountpoint>

	send [-RDp] [-[iI] snapshot] <snapshot>
	receive [-vnF] <filesystem|volume|snapshot>
	receive [-vnF] -d <filesystem>

	allow <filesystem|volume>
	allow [-ldug] <"everyone"|user|group>[,...] <perm|@setname>[,...]
	    <filesystem|volume>
	allow [-ld] -e <perm|@setname>[,...] <filesystem|volume>
	allow -c <perm|@setname>[,...] <filesystem|volume>
	allow -s @setname <perm|@setname>[,...] <filesystem|volume>

	unallow [-rldug] <"everyone"|user|group>[,...]
	    [<perm|@setname>[,...]] <filesystem|volume>
	unallow [-rld] -e [<perm|@setname>[,...]] <filesystem|volume>
	unallow [-r] -c [<perm|@setname>[,...]] <filesystem|volume>
	unallow [-r] -s @setname [<perm|@setname>[,...]] <filesystem|volume>

	hold [-r] <tag> <snapshot> ...
	holds [-r] <snapshot> ...
	release [-r] <tag> <snapshot> ...

"""#

    /// The property table `zfs list|get|set|inherit` append to their usage.
    static let zfsPropertyTable = #"""

The following properties are supported:

	PROPERTY       EDIT  INHERIT   VALUES

	available        NO       NO   <size>
	compressratio    NO       NO   <1.00x or higher if compressed>
	creation         NO       NO   <date>
	defer_destroy    NO       NO   yes | no
	mounted          NO       NO   yes | no
	origin           NO       NO   <snapshot>
	referenced       NO       NO   <size>
	type             NO       NO   filesystem | volume | snapshot
	used             NO       NO   <size>
	usedbychildren   NO       NO   <size>
	usedbydataset    NO       NO   <size>
	usedbyrefreservation  NO       NO   <size>
	usedbysnapshots  NO       NO   <size>
	userrefs         NO       NO   <count>
	aclinherit      YES      YES   discard | noallow | restricted | passthrough | passthrough-x
	aclmode         YES      YES   discard | groupmask | passthrough
	atime           YES      YES   on | off
	canmount        YES       NO   on | off | noauto
	casesensitivity  NO      YES   sensitive | insensitive | mixed
	checksum        YES      YES   on | off | fletcher2 | fletcher4 | sha256
	compression     YES      YES   on | off | lzjb | gzip | gzip-[1-9] | zle
	copies          YES      YES   1 | 2 | 3
	dedup           YES      YES   on | off | verify | sha256[,verify]
	devices         YES      YES   on | off
	exec            YES      YES   on | off
	logbias         YES      YES   latency | throughput
	mlslabel        YES      YES   <sensitivity label>
	mountpoint      YES      YES   <path> | legacy | none
	nbmand          YES      YES   on | off
	normalization    NO      YES   none | formC | formD | formKC | formKD
	primarycache    YES      YES   all | none | metadata
	quota           YES       NO   <size> | none
	readonly        YES      YES   on | off
	recordsize      YES      YES   512 to 128k, power of 2
	refquota        YES       NO   <size> | none
	refreservation  YES       NO   <size> | none
	reservation     YES       NO   <size> | none
	secondarycache  YES      YES   all | none | metadata
	setuid          YES      YES   on | off
	sharenfs        YES      YES   on | off | share(1M) options
	sharesmb        YES      YES   on | off | sharemgr(1M) options
	snapdir         YES      YES   hidden | visible
	utf8only         NO      YES   on | off
	version         YES       NO   1 | 2 | 3 | 4 | current
	volblocksize     NO      YES   512 to 128k, power of 2
	volsize         YES       NO   <size>
	vscan           YES      YES   on | off
	xattr           YES      YES   on | off
	zoned           YES      YES   on | off
	userused@...     NO       NO   <size>
	groupused@...    NO       NO   <size>
	userquota@...   YES       NO   <size> | none
	groupquota@...  YES       NO   <size> | none

Sizes are specified in bytes with standard units such as K, M, G, etc.

User-defined properties can be specified by using a name containing a colon (:).

The {user|group}{used|quota}@ properties must be appended with
a user or group specifier of one of these forms:
    POSIX name      (eg: "matt")
    POSIX id        (eg: "126829")
    SMB name@domain (eg: "matt@sun")
    SMB SID         (eg: "S-1-234-567-89")
"""#

    /// The property table `zpool get|list` append to their usage.
    static let zpoolPropertyTable = #"""

the following properties are supported:

	PROPERTY         EDIT   VALUES

	allocated          NO   <size>
	capacity           NO   <size>
	dedupratio         NO   <1.00x or higher if deduped>
	free               NO   <size>
	guid               NO   <guid>
	health             NO   <state>
	size               NO   <size>
	altroot           YES   <path>
	ashift            YES   <ashift, 9-13, or 0=default>
	autoexpand        YES   on | off
	autoreplace       YES   on | off
	bootfs            YES   <filesystem>
	cachefile         YES   <file> | none
	dedupditto        YES   <threshold (min 100)>
	delegation        YES   on | off
	failmode          YES   wait | continue | panic
	listsnapshots     YES   on | off
	version           YES   <version>
"""#
}
